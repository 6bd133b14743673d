"""Layout guards: the physics core stays pure, and every package ships in the wheel."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_PHYSICS = {"ursina", "panda3d", "paho", "serial", "socket", "trimesh", "twin3d.io",
                        "requests", "subprocess", "threading"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_physics_is_pure():
    for path in (ROOT / "physics").glob("*.py"):
        bad = {n for n in _imports(path) for f in FORBIDDEN_IN_PHYSICS
               if n == f or n.startswith(f + ".")}
        assert not bad, f"{path.name} imports {bad}"
        src = path.read_text()
        assert "open(" not in src and "print(" not in src, f"{path.name} does I/O"


def test_every_package_dir_is_listed_for_the_wheel():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = cfg["package-dir"]
    listed = set(cfg["packages"])
    for pkg, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join((pkg, *rel.parts)) if rel.parts else pkg
            assert name in listed, f"{name} is missing from [tool.setuptools] packages"


def test_io_folder_does_not_shadow_the_stdlib():
    import io

    assert hasattr(io, "BytesIO")  # the standard library's io, not our io/ folder
    import twin3d.io  # noqa: F401  (our folder, through the package-dir mapping)


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text().splitlines()
    block = [ln for ln in readme[:8] if ln.startswith("bash .ci/setup")]
    assert len(block) == 2 and "twin3d demo" in block[0] and "pytest" in block[1]
    assert block[1] in (ROOT / ".ci" / "run").read_text()
