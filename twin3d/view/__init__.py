"""The 3D scene (Ursina on panda3d): meshes, HUD, plots and panels, views of the twin's state
and nothing more.

May import: twin3d.physics, twin3d.scenefile, twin3d.live (the state it draws), twin3d.tools
(the panels run them); never the rig (the scene shows what the twin knows) or the CLI."""

