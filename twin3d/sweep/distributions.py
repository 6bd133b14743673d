"""The distributions of `--vary key=dist(...)`: parsed strictly, drawn from a task's own
Generator so a draw depends only on the sweep seed and the task index."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin3d.tools import parse_value

# kind -> (parameter names, whether draws are real numbers)
KINDS = {
    "uniform": (("low", "high"), True),
    "normal": (("mu", "sigma"), True),
    "lognormal": (("mu", "sigma"), True),  # mu, sigma of log(x), as numpy's lognormal
    "randint": (("low", "high"), False),  # integers low..high, both included
    "choice": ((), False),  # choice(v1|v2|...): each TOML literal equally likely
}
FORMS = "uniform(a,b), normal(mu,sigma), lognormal(mu,sigma), randint(a,b), choice(v1|v2|...)"
_CALL = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$", re.S)


class DistributionError(ValueError):
    """A distribution that cannot be drawn from: the message is one line."""


@dataclass(frozen=True)
class Distribution:
    kind: str
    params: tuple

    @property
    def continuous(self) -> bool:
        return KINDS[self.kind][1]

    def draw(self, rng: np.random.Generator) -> Any:
        """One value as a plain Python number (or the chosen literal)."""
        k, p = self.kind, self.params
        if k == "uniform":
            return float(rng.uniform(p[0], p[1]))
        if k == "normal":
            return float(rng.normal(p[0], p[1]))
        if k == "lognormal":
            return float(rng.lognormal(p[0], p[1]))
        if k == "randint":
            return int(rng.integers(p[0], p[1], endpoint=True))
        return p[int(rng.integers(len(p)))]

    def probes(self) -> list[Any]:
        """Values every one of which the tool must accept: the bounds of a bounded
        distribution, the centre of an unbounded one, every choice."""
        k, p = self.kind, self.params
        if k in ("uniform", "randint"):
            return [p[0], p[1]]
        if k == "normal":
            return [p[0]]
        if k == "lognormal":
            return [math.exp(p[0])]
        return list(p)

    def __str__(self) -> str:
        sep = "|" if self.kind == "choice" else ","
        return f"{self.kind}({sep.join(str(v) for v in self.params)})"


def _number(text: str, what: str, integer: bool = False) -> float:
    try:
        v = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise DistributionError(f"{what} must be {kind} (got {text.strip()!r})") from None
    if not math.isfinite(v):
        raise DistributionError(f"{what} must be finite (got {text.strip()!r})")
    return v


def parse_distribution(text: str) -> Distribution:
    """`uniform(0.1, 2)` -> Distribution; a DistributionError names what is wrong."""
    m = _CALL.match(text)
    if not m:
        raise DistributionError(f"{text!r} is not a distribution (expected one of {FORMS})")
    kind, body = m.group(1), m.group(2)
    if kind not in KINDS:
        raise DistributionError(f"unknown distribution {kind!r} (allowed {FORMS})")
    if kind == "choice":
        items = [s.strip() for s in body.split("|")]
        if not body.strip() or any(not s for s in items):
            raise DistributionError(f"choice needs values separated by | (got {text!r})")
        return Distribution(kind, tuple(parse_value(s) for s in items))
    names, _ = KINDS[kind]
    parts = body.split(",")
    if len(parts) != len(names):
        raise DistributionError(f"{kind} takes {len(names)} numbers ({', '.join(names)}), "
                                f"got {text!r}")
    vals = tuple(_number(s, f"{kind} {n}", integer=kind == "randint")
                 for s, n in zip(parts, names))
    if kind in ("uniform", "randint") and not vals[0] < vals[1]:
        raise DistributionError(f"{kind} needs low < high (got {text!r})")
    if kind in ("normal", "lognormal") and not vals[1] > 0:
        raise DistributionError(f"{kind} needs sigma > 0 (got {text!r})")
    if kind == "lognormal" and abs(vals[0]) > 700:
        raise DistributionError(f"lognormal mu out of range (got {vals[0]:g}, allowed -700..700)")
    return Distribution(kind, vals)
