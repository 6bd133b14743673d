# No top-level `update` or `input` here: Ursina calls __main__.update/input every frame.
from twin3d.cli.main import main

raise SystemExit(main())
