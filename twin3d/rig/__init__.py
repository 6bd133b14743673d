"""The simulated rig: ground truth that differs from the twin's model, its physics core and
interlocks, its transports (MQTT, a serial pty, the in-process bus) and its real-time loop.

May import: twin3d.physics, twin3d.io, twin3d.protocol, twin3d.scenefile; never the live side,
the view or the tools (a rig knows nothing of the twin watching it)."""
