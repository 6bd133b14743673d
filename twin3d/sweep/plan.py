"""What a sweep runs: the tasks (inputs and one seed each) from `--set`, `--grid` and
`--samples N --vary`, every task's inputs validated by the tool's own schema before anything
runs, so a bad value is reported with the tool's message and nothing is half-done.

Seeds: the root SeedSequence(--seed) spawns one child per task (task i gets child i, whatever
executor runs it and in whatever order). A child spawns two streams: the first draws the task's
--vary values, the second gives the task's 32-bit `seed`, which is passed as the tool's own
`seed` input when the tool has one and the sweep does not set it."""

from __future__ import annotations

import dataclasses
import itertools
import math
import typing
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from twin3d import tools
from twin3d.scenefile.schema import SchemaError
from twin3d.sweep.distributions import Distribution, DistributionError, parse_distribution

MAX_TASKS = 1_000_000


class SweepError(ValueError):
    """Bad sweep input: one line (the CLI exits 2 with it)."""


@dataclass(frozen=True)
class Task:
    index: int
    seed: int  # this task's seed (see the module docstring)
    inputs: dict[str, Any]  # the --set and swept values given to the tool


@dataclass(frozen=True)
class Plan:
    tool: str  # NAME
    module: str  # the tool's module (the workers import it by this name)
    keys: tuple[str, ...]  # the input columns: --set keys, then swept keys, in the order given
    swept: tuple[str, ...]
    tasks: tuple[Task, ...]
    seed: int
    seeds_tool: bool  # the task seed is passed as the tool's `seed` input


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip() or not value.strip():
        raise SweepError(f"twin3d sweep: {flag} needs key=value (got {text!r})")
    return key.strip(), value.strip()


def split_top_level(text: str) -> list[str]:
    """`1,2,[3, 4],"a,b"` -> ['1', '2', '[3, 4]', '"a,b"']: commas inside [] or quotes stay."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_sets(items: list[str]) -> dict[str, Any]:
    sets = {}
    for item in items:
        key, value = split_assignment(item, "--set")
        sets[key] = tools.parse_value(value)
    return sets


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, text = split_assignment(item, "--grid")
        if key in grid:
            raise SweepError(f"twin3d sweep: --grid {key} given twice")
        values = split_top_level(text)
        if any(not v for v in values):
            raise SweepError(f"twin3d sweep: --grid {key}: an empty value in {text!r}")
        grid[key] = [tools.parse_value(v) for v in values]
    return grid


def parse_vary(items: list[str]) -> dict[str, Distribution]:
    vary: dict[str, Distribution] = {}
    for item in items:
        key, text = split_assignment(item, "--vary")
        if key in vary:
            raise SweepError(f"twin3d sweep: --vary {key} given twice")
        try:
            vary[key] = parse_distribution(text)
        except DistributionError as e:
            raise SweepError(f"twin3d sweep: --vary {key}: {e}") from None
    return vary


def task_seeds(seed: int, n: int) -> list[tuple[np.random.Generator, int]]:
    """(Generator for the task's draws, the task's 32-bit seed) for tasks 0..n-1."""
    out = []
    for child in np.random.SeedSequence(seed).spawn(n):
        draws, own = child.spawn(2)
        out.append((np.random.default_rng(draws), int(own.generate_state(1, np.uint32)[0])))
    return out


def _check(tool: ModuleType, table: dict, scene, source: str, where: str = "") -> dict:
    """The table's values as the tool's schema converts them (2 -> 2.0 for a real input)."""
    try:
        inputs = tools.make_inputs(tool, table, scene=scene, source=source)
    except SchemaError as e:
        raise SweepError(f"twin3d sweep: {e}{where}") from None
    return {k: getattr(inputs, k) for k in table}


def _check_keys(tool: ModuleType, fixed: dict, swept: dict, flag: str) -> None:
    fields = {f.name for f in dataclasses.fields(tool.Inputs)}
    for key in swept:
        if key not in fields:
            raise SweepError(f"twin3d sweep: {flag} {key}: {tool.NAME} has no input {key!r} "
                             f"(allowed {', '.join(sorted(fields))})")
        if key in fixed:
            raise SweepError(f"twin3d sweep: {key} is both --set and {flag}")


def _plan(tool: ModuleType, fixed: dict, swept_keys: tuple, rows: list[dict], seed: int,
          seeds: list[int]) -> Plan:
    seeds_tool = (any(f.name == "seed" for f in dataclasses.fields(tool.Inputs))
                  and "seed" not in fixed and "seed" not in swept_keys)
    tasks = tuple(Task(i, s, row) for i, (row, s) in enumerate(zip(rows, seeds)))
    return Plan(tool.NAME, tool.__name__, tuple(fixed) + swept_keys, swept_keys, tasks, seed,
                seeds_tool)


def _count(n: int) -> None:
    if n > MAX_TASKS:
        raise SweepError(f"twin3d sweep: {n} tasks is too many (allowed <= {MAX_TASKS})")


def grid_plan(tool: ModuleType, fixed: dict, grid: dict[str, list], seed: int,
              scene=None) -> Plan:
    """Every combination of the --grid values (the first key varies slowest)."""
    _check_keys(tool, fixed, grid, "--grid")
    _check(tool, fixed, scene, "--set")
    for key, values in grid.items():
        for v in values:
            _check(tool, {**fixed, key: v}, scene, "--grid")
    _count(math.prod(len(v) for v in grid.values()))
    combos = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    rows = [_check(tool, {**fixed, **row}, scene, "--grid", f" (task {i})")
            for i, row in enumerate(combos)]
    seeds = [s for _, s in task_seeds(seed, len(rows))]
    return _plan(tool, fixed, tuple(grid), rows, seed, seeds)


def sample_plan(tool: ModuleType, fixed: dict, vary: dict[str, Distribution], n: int,
                seed: int, scene=None) -> Plan:
    """`n` tasks, each drawing every --vary key (in the order given) from its own stream."""
    _check_keys(tool, fixed, vary, "--vary")
    _check(tool, fixed, scene, "--set")
    hints = typing.get_type_hints(tool.Inputs)
    for key, dist in vary.items():
        if dist.continuous and hints[key] is not float:
            raise SweepError(f"twin3d sweep: --vary {key}: {dist.kind} draws real numbers but "
                             f"{key} is not a real number (use randint(a,b) or choice(...))")
        for v in dist.probes():
            _check(tool, {**fixed, key: v}, scene, "--vary", f" (in --vary {key}={dist})")
    if not 1 <= n:
        raise SweepError(f"twin3d sweep: --samples must be >= 1 (got {n})")
    _count(n)
    rows, seeds = [], []
    for i, (rng, s) in enumerate(task_seeds(seed, n)):
        row = {key: dist.draw(rng) for key, dist in vary.items()}
        rows.append(_check(tool, {**fixed, **row}, scene, "--vary",
                           f" (drawn for task {i}: narrow the distribution)"))
        seeds.append(s)
    return _plan(tool, fixed, tuple(vary), rows, seed, seeds)
