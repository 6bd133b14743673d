"""The twin's live side: feeds that turn a source (or the simulated truth) into a TwinState,
the estimator and tracker wiring, the commander and its dry run, and the live demo.

May import: twin3d.physics, twin3d.io, twin3d.protocol, twin3d.scenefile, twin3d.rig (the demo
runs a rig in-process); never the view or the CLI."""
