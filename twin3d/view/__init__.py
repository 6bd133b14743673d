"""The 3D scene (Ursina on panda3d): views of the twin's state, nothing more."""
