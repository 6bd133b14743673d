"""Engineering tools: one module per tool, discovered automatically.

A tool module declares
    NAME     the tool's name on the command line (`twin3d tool NAME`)
    SUMMARY  one line saying what it computes
    Inputs   a frozen, kw_only dataclass; every field declared with `schema.spec` (unit, range,
             default, doc), so the CLI and the scene's panel are generated from it
    Result   a dataclass of results (numbers, strings, numpy arrays, lists, dicts)
    run(inputs, ctx) -> Result   pure computation; ctx gives the scene and a progress callback
    EXAMPLE  a dict of input overrides: the tool's worked example (regression-tested)
and may declare
    plots(result) -> list[Plot]   what the panel draws (pure data; the scene draws it)
    summary(result) -> list[str]  the few lines the panel prints
A field named `profile` (str) is checked against the scene's profiles; empty means the scene's
active model.

May import: twin3d.physics and twin3d.scenefile; never the view, io, the rig or the live side
(a tool computes from its inputs; the scene and the CLI call it). Helpers used only by tools are
private modules here (`_frf_files`, `_calculix`).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from twin3d.scenefile.schema import SchemaError, build, describe

REQUIRED = ("NAME", "SUMMARY", "Inputs", "Result", "run", "EXAMPLE")


@dataclass(frozen=True)
class Plot:
    """A plot a tool asks for: x against one or more y series (pure data)."""

    title: str
    x: np.ndarray
    ys: tuple[np.ndarray, ...]
    labels: tuple[str, ...] = ()
    xlabel: str = ""
    ylabel: str = ""
    logx: bool = False
    logy: bool = False  # plot 20 log10|y| in dB when the ylabel says dB, else log axis
    kind: str = "line"  # line | bars (histograms) | nyquist (x + jy curve, -1 marked)


@dataclass
class Context:
    """What a tool may use besides its inputs: the scene, progress and cancellation."""

    scene: Any = None  # twin3d.scenefile.records.Scene; loaded on first use when None
    progress: Callable[[float, str], None] | None = None
    cancelled: Callable[[], bool] = field(default=lambda: False)

    def report(self, fraction: float, message: str = "") -> None:
        if self.progress is not None:
            self.progress(min(max(float(fraction), 0.0), 1.0), message)

    def get_scene(self):
        if self.scene is None:
            from twin3d.scenefile.profiles import load_user_scene
            self.scene = load_user_scene()
        return self.scene

    def profile(self, name: str) -> str:
        """The profile name to use: `name`, or the scene's active model when empty."""
        return name or self.get_scene().data.model.active


class Cancelled(Exception):
    """Raised by a tool that saw ctx.cancelled() turn true."""


def _is_tool(mod: ModuleType) -> bool:
    return all(hasattr(mod, a) for a in REQUIRED)


def discover() -> dict[str, ModuleType]:
    """All tool modules in this package, by NAME, sorted."""
    tools = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if _is_tool(mod):
            tools[mod.NAME] = mod
    return dict(sorted(tools.items()))


def get(name: str) -> ModuleType:
    tools = discover()
    if name not in tools:
        raise SchemaError("twin3d tool", "NAME", "no such tool", name, ", ".join(tools))
    return tools[name]


def parse_value(text: str) -> Any:
    """A --set value: a TOML literal (number, bool, [list], "string") or else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def make_inputs(tool: ModuleType, sets: dict[str, Any] | None = None,
                inputs_file: Path | None = None, scene=None, source: str = "--set"):
    """Validated Inputs from an optional TOML file and then `key=value` overrides.

    Raises SchemaError naming the field, the value and the allowed range."""
    table: dict[str, Any] = {}
    if inputs_file is not None:
        file = str(inputs_file)
        try:
            table.update(tomllib.loads(Path(inputs_file).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise SchemaError(file, "inputs", "no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise SchemaError(file, "inputs", f"not valid TOML: {e}") from None
        build(tool.Inputs, table, file)  # report file errors against the file
    table.update(sets or {})
    inputs = build(tool.Inputs, table, source)
    if scene is not None and getattr(inputs, "profile", ""):
        if inputs.profile not in scene.data.profiles:
            raise SchemaError(source, "profile", "no such profile in the scene", inputs.profile,
                              ", ".join(sorted(scene.data.profiles)))
    return inputs


def example_inputs(tool: ModuleType):
    return build(tool.Inputs, dict(tool.EXAMPLE), f"{tool.NAME}.EXAMPLE")


def run(tool: ModuleType, inputs, ctx: Context | None = None):
    return tool.run(inputs, ctx or Context())


def listing() -> list[dict]:
    """Every tool with its inputs (type, unit, allowed range, default, doc)."""
    return [{"name": n, "summary": m.SUMMARY, "inputs": describe(m.Inputs)}
            for n, m in discover().items()]


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, numpy arrays and scalars as plain JSON values (complex as [re, im])."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        if np.iscomplexobj(obj):
            return to_jsonable(np.stack([obj.real, obj.imag], axis=-1))
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, complex):
        return [obj.real, obj.imag]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def summary_lines(tool: ModuleType, result) -> list[str]:
    """The tool's own summary, or one line per scalar result field."""
    if hasattr(tool, "summary"):
        return list(tool.summary(result))
    lines = []
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, (int, float, str, bool, np.floating, np.integer)):
            lines.append(f"{f.name} = {v:.4g}" if isinstance(v, (float, np.floating))
                         else f"{f.name} = {v}")
    return lines


def plots(tool: ModuleType, result) -> list[Plot]:
    return list(tool.plots(result)) if hasattr(tool, "plots") else []
