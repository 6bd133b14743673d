"""twin3d: a 3D virtual twin of a base-shaken three-storey lab structure."""

__version__ = "0.1.0"
