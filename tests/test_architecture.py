"""Layout guards: what each room may import (every import in every module, lazy ones included),
no cycles between rooms, the physics core stays pure, and every package ships in the wheel."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CFG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
PACKAGE_DIRS = CFG["package-dir"]  # twin3d.physics -> physics, ...

# room -> rooms of ours it must never import ("*": every room but its own). Third-party
# libraries are not limited here, except the I/O ones in physics (below).
FORBIDDEN = {
    "physics": {"*"},
    "io": {"*"},
    "history": {"*"},
    "protocol": {"rig", "live", "view", "cli", "tools", "bench", "web", "history", "sweep",
                 "formats"},
    "scenefile": {"io", "protocol", "rig", "live", "view", "cli", "tools", "bench", "web",
                  "history", "sweep", "formats"},
    "rig": {"live", "view", "cli", "tools", "bench", "web", "history", "sweep", "formats"},
    "tools": {"view", "io", "rig", "live", "cli", "bench", "web", "history", "sweep"},
    "view": {"rig", "cli", "bench", "web", "history", "sweep"},
    "live": {"view", "cli", "bench", "web", "sweep"},
    # read-only by construction: no import of the command protocol, the rig or the scene
    "web": {"protocol", "rig", "view", "cli", "tools", "bench", "sweep", "formats"},
    "sweep": {"view", "io", "rig", "live", "cli", "bench", "web", "history"},
    # files of modal testing: reads and writes recordings through io, nothing else of ours
    "formats": {"physics", "protocol", "scenefile", "rig", "live", "view", "tools", "cli",
                "bench", "web", "history", "sweep"},
}
ROOMS = {"physics", "io", "protocol", "scenefile", "rig", "live", "view", "tools", "cli", "bench",
         "web", "history", "sweep", "formats"}
FORBIDDEN_IN_PHYSICS = {"ursina", "panda3d", "paho", "serial", "socket", "trimesh", "requests",
                        "subprocess", "threading"}


def source_modules() -> dict[str, str]:
    """Every module of ours by its import name (twin3d.io.t3d1, ...) -> its source text."""
    out = {}
    for pkg, folder in sorted(PACKAGE_DIRS.items(), key=lambda kv: -len(kv[0])):
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if any(p in ("__pycache__",) for p in rel.parts):
                continue
            name = ".".join([pkg, *parts])
            if pkg == "twin3d" and parts and parts[0] in ("physics", "io", "bench"):
                continue  # not a folder of twin3d/ (mapped elsewhere)
            out.setdefault(name, path.read_text(encoding="utf-8"))
    return out


def is_package(name: str, modules: dict[str, str]) -> bool:
    return any(m.startswith(name + ".") for m in modules)


def imported_names(name: str, source: str, modules: dict[str, str]) -> set[str]:
    """Absolute names of everything `name` imports, at any depth (function-level too)."""
    package = name if is_package(name, modules) else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules}
    return out


def room(name: str) -> str | None:
    """The room of one of our module names (twin3d.rig.core -> rig), None for third party;
    the package root's own modules (twin3d.paths) are the room `root`."""
    parts = name.split(".")
    if parts[0] != "twin3d":
        return None
    if len(parts) > 1 and parts[1] in ROOMS:
        return parts[1]
    if name == "twin3d.__main__":
        return "cli"  # `python -m twin3d` is the command line's entry point
    return "root"


def violations(modules: dict[str, str]) -> list[str]:
    """Every import that breaks a room's rule, and every cycle between rooms."""
    found, edges = [], {}
    for name, src in modules.items():
        here = room(name)
        for imp in imported_names(name, src, modules):
            there = room(imp)
            if here == "physics" and any(imp == f or imp.startswith(f + ".")
                                         for f in FORBIDDEN_IN_PHYSICS):
                found.append(f"{name} imports {imp} (physics does no I/O)")
            if there is None or there == here:
                continue
            rule = FORBIDDEN.get(here, set())
            if "*" in rule or there in rule:
                found.append(f"{name} imports {imp} ({here} may not import {there})")
            edges.setdefault(here, set()).add(there)
    found += [f"import cycle between rooms: {' -> '.join(c)}" for c in cycles(edges)]
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of rooms (Tarjan), as a closed path."""
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group) + [sorted(group)[0]])

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


MODULES = source_modules()


def test_every_room_keeps_its_import_rules_and_no_cycles():
    assert len(MODULES) > 80  # the walk found the code (not an empty tree)
    assert violations(MODULES) == []


@pytest.mark.parametrize("planted, expected", [
    ({"twin3d.physics.bad": "def f():\n    from twin3d.io import t3d1\n"},
     "physics may not import io"),
    ({"twin3d.physics.bad": "import socket\n"}, "physics does no I/O"),
    ({"twin3d.io.bad": "from twin3d.rig.truth import SimulatedRig\n"}, "io may not import rig"),
    ({"twin3d.rig.bad": "from twin3d.live import commander\n"}, "rig may not import live"),
    ({"twin3d.view.bad": "import twin3d.rig.inprocess\n"}, "view may not import rig"),
    ({"twin3d.tools.bad": "from twin3d.io.recorder import Recorder\n"}, "tools may not import io"),
    ({"twin3d.protocol.bad": "from ..live.dry_run import dry_run\n"},
     "protocol may not import live"),
    ({"twin3d.scenefile.bad": "from twin3d.view import hud\n"},
     "scenefile may not import view"),
    ({"twin3d.formats.bad": "from twin3d.scenefile import records\n"},
     "formats may not import scenefile"),
    ({"twin3d.io.bad": "from twin3d.formats import read_timeseries\n"},
     "io may not import formats"),
])
def test_a_planted_violation_is_caught(planted, expected):
    found = violations({**MODULES, **planted})
    assert any(expected in v and next(iter(planted)) in v for v in found), found


def test_a_planted_cycle_is_caught():
    # live imports protocol (allowed); protocol importing cli and cli live would close a loop
    found = violations({**MODULES, "twin3d.cli.bad": "import twin3d.live.commander\n",
                        "twin3d.live.bad": "import twin3d.cli.main\n"})
    assert any(v.startswith("import cycle between rooms") and "cli" in v and "live" in v
               for v in found), found


def test_root_holds_few_modules_and_every_room_says_what_it_is():
    root = sorted(p.name for p in (ROOT / "twin3d").glob("*.py"))
    assert len(root) <= 6, root
    for r in sorted(ROOMS - {"bench"}):
        name = "twin3d" if r == "root" else f"twin3d.{r}"
        doc = ast.get_docstring(ast.parse(MODULES[name]))
        assert doc and "import" in doc, f"{name} has no docstring saying what it may import"


def test_physics_does_no_io():
    for path in (ROOT / "physics").glob("*.py"):
        src = path.read_text()
        assert "open(" not in src and "print(" not in src, f"{path.name} does I/O"


def test_every_package_dir_is_listed_for_the_wheel():
    listed = set(CFG["packages"])
    for pkg, folder in PACKAGE_DIRS.items():
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
