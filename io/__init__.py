"""Transports and codecs: the T3D1 block format, MQTT and serial links, the in-process
loopback bus, recordings, and the sources that turn a URL into ingested blocks.

May import: its own modules and third-party libraries only (paho-mqtt, pyserial, numpy): no other
room of twin3d. Schemes that live elsewhere (the simulated rig's `sim`) register themselves."""
