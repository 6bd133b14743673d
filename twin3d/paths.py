"""Where the project's data folders are: one place for the fact that `scenes/` and `assets/`
sit beside the package (an editable install, as `.ci/setup` makes)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT / "scenes"
ASSETS = ROOT / "assets"
