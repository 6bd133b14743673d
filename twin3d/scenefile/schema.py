"""Build frozen dataclasses from TOML tables, validating every field against its metadata.

A field declares its unit and allowed range with `spec(...)`; `build(cls, table, ...)` checks
types, ranges, choices and unknown keys, and raises `SchemaError` whose message is the one line
`file:key: problem (got X, allowed Y)`. Tool inputs use the same declarations.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any


class SchemaError(ValueError):
    """One bad field: `file:key: problem (got X, allowed Y)`."""

    def __init__(self, file: str, key: str, problem: str, got: Any = None,
                 allowed: str | None = None):
        self.file, self.key, self.problem, self.got, self.allowed = file, key, problem, got, allowed
        detail = ""
        if got is not None or allowed is not None:
            parts = []
            if got is not None:
                parts.append(f"got {_show(got)}")
            if allowed is not None:
                parts.append(f"allowed {allowed}")
            detail = f" ({', '.join(parts)})"
        super().__init__(f"{file}:{key}: {problem}{detail}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def spec(default: Any = dataclasses.MISSING, *, unit: str = "", lo: float | None = None,
         hi: float | None = None, lo_open: bool = False, choices: tuple | None = None,
         length: int | None = None, doc: str = "") -> Any:
    """A dataclass field with validation metadata (lo/hi inclusive unless lo_open)."""
    meta = {"unit": unit, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices,
            "length": length, "doc": doc}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: d, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def allowed_text(meta: dict) -> str | None:
    """Human-readable allowed range of a field's metadata, with its unit."""
    if meta.get("choices"):
        return " | ".join(str(c) for c in meta["choices"])
    lo, hi, unit = meta.get("lo"), meta.get("hi"), meta.get("unit", "")
    u = f" {unit}" if unit else ""
    if lo is not None and hi is not None:
        return f"{lo:g}..{hi:g}{u}" if not meta.get("lo_open") else f"> {lo:g} and <= {hi:g}{u}"
    if lo is not None:
        return f"{'>' if meta.get('lo_open') else '>='} {lo:g}{u}"
    if hi is not None:
        return f"<= {hi:g}{u}"
    return None


def check_number(value: Any, meta: dict, file: str, key: str, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(file, key, "must be " + ("an integer" if integer else "a number"),
                          value, allowed_text(meta))
    if integer and not float(value).is_integer():
        raise SchemaError(file, key, "must be an integer", value, allowed_text(meta))
    if not math.isfinite(value):
        raise SchemaError(file, key, "must be finite", value, allowed_text(meta))
    lo, hi = meta.get("lo"), meta.get("hi")
    too_low = lo is not None and (value <= lo if meta.get("lo_open") else value < lo)
    if too_low or (hi is not None and value > hi):
        raise SchemaError(file, key, "out of range", value, allowed_text(meta))
    if meta.get("choices") and value not in meta["choices"]:
        raise SchemaError(file, key, "not one of the allowed values", value, allowed_text(meta))
    return int(value) if integer else float(value)


def _convert(tp: Any, value: Any, meta: dict, file: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:  # X | None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, meta, file, key)
    if tp is float:
        return check_number(value, meta, file, key)
    if tp is int:
        return check_number(value, meta, file, key, integer=True)
    if tp is bool:
        if not isinstance(value, bool):
            raise SchemaError(file, key, "must be true or false", value)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SchemaError(file, key, "must be a string", value, allowed_text(meta))
        if meta.get("choices") and value not in meta["choices"]:
            raise SchemaError(file, key, "not one of the allowed values", value,
                              allowed_text(meta))
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SchemaError(file, key, "must be a list", value, allowed_text(meta))
        if meta.get("length") is not None and len(value) != meta["length"]:
            raise SchemaError(file, key, "wrong number of values", value,
                              f"{meta['length']} values")
        return tuple(_convert(args[0], v, meta, file, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(file, key, "must be a table", value)
        return {k: _convert(args[1], v, meta, file, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise SchemaError(file, key, "must be a table", value)
        return build(tp, value, file, key)
    raise TypeError(f"schema: unsupported field type {tp!r} at {key}")


def build(cls: type, table: dict, file: str, prefix: str = "") -> Any:
    """Instantiate dataclass `cls` from a TOML table, validating every field."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for k in table:
        if k not in fields:
            raise SchemaError(file, _join(prefix, k), "unknown key", None,
                              ", ".join(sorted(fields)))
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(file, key, "missing", None, allowed_text(dict(f.metadata)))
            continue
        kwargs[name] = _convert(hints[name], table[name], dict(f.metadata), file, key)
    return cls(**kwargs)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def describe(cls: type) -> list[dict]:
    """Fields of `cls` with type, unit, range and default (for `tool list` and panels)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append({"name": f.name, "type": getattr(hints[f.name], "__name__", str(hints[f.name])),
                    "unit": f.metadata.get("unit", ""), "allowed": allowed_text(dict(f.metadata)),
                    "default": default, "doc": f.metadata.get("doc", "")})
    return out
