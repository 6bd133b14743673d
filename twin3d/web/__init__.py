"""The browser view: `twin3d serve` streams the live state of one source to any number of
browsers (three.js page, WebSocket fan-out, /status). Read-only by construction.

May import: twin3d.physics, twin3d.io, twin3d.scenefile, twin3d.live and twin3d.paths; never
the command protocol, the rig, the desktop scene or the tools."""
