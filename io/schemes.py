"""The registry of source schemes: which opener makes the ingest object for a source URL.

A scheme is the URL's first word, before `:` or `?` (`mqtt://...`, `replay:PATH`, `sim?rpm=1`).
A module that can open one registers an opener `(url, scene) -> Ingest` for it:

    @register_scheme("replay", usage="replay:PATH[?speed=X]")
    def open_replay(url, scene): ...

The openers of `twin3d.io` register when `twin3d.io.sources` is imported; others register
where they live (the simulated rig's `sim` in `twin3d.rig.inprocess`). An opener raises
ValueError with one clear line for a URL it cannot use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin3d.io.ingest import Ingest

Opener = Callable[[str, object], "Ingest"]

_OPENERS: dict[str, Opener] = {}
_USAGE: dict[str, str] = {}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)(?=[:?]|$)")


def register_scheme(*names: str, usage: str = "") -> Callable[[Opener], Opener]:
    """Decorator: `fn(url, scene)` opens sources whose scheme is one of `names`; `usage` is the
    URL form shown when a URL is not understood."""
    if not names:
        raise ValueError("register_scheme needs at least one scheme name")

    def add(fn: Opener) -> Opener:
        for name in names:
            key = name.lower()
            old = _OPENERS.get(key)
            if old is not None and _qualname(old) != _qualname(fn):
                raise ValueError(f"source scheme {key!r} is already opened by {_qualname(old)}")
            _OPENERS[key] = fn
            _USAGE[key] = usage or f"{key}:..."
        return fn

    return add


def _qualname(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def registered_schemes() -> dict[str, str]:
    """Scheme name -> URL form, by name."""
    return dict(sorted(_USAGE.items()))


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case ('' when it has none)."""
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else ""


def opener_for(url: str) -> Opener:
    """The registered opener for a URL; ValueError listing the registered schemes if none."""
    fn = _OPENERS.get(scheme_of(url))
    if fn is None:
        forms = ", ".join(dict.fromkeys(registered_schemes().values())) or "none"
        raise ValueError(f"source {url!r} not understood (registered schemes: {forms})")
    return fn


def query_float(q: dict, key: str, default: float, lo: float, hi: float, url: str) -> float:
    """`key` from a parsed query string (`urllib.parse.parse_qs`), checked against lo..hi."""
    if key not in q:
        return default
    try:
        v = float(q[key][-1])
    except ValueError:
        raise ValueError(f"source {url!r}: {key}={q[key][-1]!r} is not a number") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"source {url!r}: {key}={v:g} out of range (allowed {lo:g}..{hi:g})")
    return v
