"""twin3d: a 3D virtual twin of a base-shaken three-storey lab structure.

Rooms (each sub-package's docstring says what it may import; tests/test_architecture.py
enforces it, lazy imports included, and that no two rooms import each other in a loop):

    physics/   (twin3d.physics)  pure physics: numba kernels, arrays in, arrays out
    io/        (twin3d.io)       transports and codecs: T3D1, MQTT, serial, recordings, sources
    scenefile  the scene file: records, loader, schema, the user's saved profiles
    protocol   the wire protocol both sides share: commands, acks, limits, audit
    rig        the simulated rig: ground truth, core, interlocks, transports, loop
    live       the twin's live side: feeds, state, estimator wiring, commander, dry run, demo
    tools      the engineering tools, one module per tool
    view       the 3D scene (Ursina): meshes, HUD, plots, panels; it only displays state
    cli        the command line, one module per command group

The root holds only this package file, `__main__` and `paths` (where scenes/ and assets/ are).
"""

__version__ = "0.1.0"
