"""The `twin3d` command line: `main` builds one parser from the command groups (scene,
analysis, live, rig), each in its own module.

May import: every room (it is the outermost layer); nothing imports it but `python -m twin3d`."""
