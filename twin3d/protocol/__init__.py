"""The wire protocol both sides speak: commands and acks (JSON), their argument limits, the
e-stop latch rule, and the audit log.

May import: twin3d.physics, twin3d.scenefile and twin3d.io; never the rig, the live side or the
view (both sides import it, it imports neither)."""
