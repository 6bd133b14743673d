"""One sweep task, as a worker runs it: import the tool, pin numba's threads, build the
inputs, run, and flatten the result into one table row. Nothing raised inside a task crosses
the process boundary: a failure comes back as a row with status "failed" and its error (an
exception need not unpickle on the other side)."""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

# arrays up to this many elements become one column per element (`name[i]`, `name[i,j]`):
# per-floor and per-mode figures; longer ones (time histories, spectra) are left out of the
# table and listed in its metadata
MAX_ELEMENTS = 16


@dataclass(frozen=True)
class TaskCall:
    module: str  # the tool module, imported by name on the worker
    index: int
    seed: int
    inputs: dict[str, Any]
    seeds_tool: bool
    numba_threads: int


def _scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str, np.bool_, np.integer, np.floating))


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def flatten(result: Any) -> tuple[dict[str, Any], list[str]]:
    """(columns `out.<name>...`, names of the results left out) of a Result dataclass."""
    cols: dict[str, Any] = {}
    left_out: list[str] = []
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        key = f"out.{f.name}"
        if _scalar(v):
            cols[key] = _plain(v)
        elif isinstance(v, (complex, np.complexfloating)):
            cols[key + ".re"], cols[key + ".im"] = float(v.real), float(v.imag)
        elif isinstance(v, (np.ndarray, list, tuple)):
            a = np.asarray(v) if not isinstance(v, np.ndarray) else v
            if a.dtype.kind not in "biuf" or a.size > MAX_ELEMENTS or a.size == 0:
                left_out.append(f.name)
                continue
            for idx in np.ndindex(a.shape):
                cols[f"{key}[{','.join(map(str, idx))}]"] = _plain(a[idx])
        else:
            left_out.append(f.name)
    return cols, left_out


def _pin_numba(threads: int) -> int:
    """Set numba's thread count, which is per calling thread, in the thread that runs the
    task; returns the count it replaced."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return before


def failed(e: BaseException) -> dict[str, Any]:
    """The row of a task that raised `e` (the error's first line)."""
    text = f"{type(e).__name__}: {e}".splitlines()[0]
    return {"status": "failed", "error": text, "out": {}, "left_out": []}


def run_task(call: TaskCall, scene: Any = None) -> dict[str, Any]:
    """{"status": "ok"|"failed", "error": str, "out": {...}, "left_out": [...]}

    `scene` is the Scene the parent loaded (saved profiles included), so every node agrees;
    None lets a tool load the default scene."""
    before = None
    try:
        from twin3d import tools

        tool = importlib.import_module(call.module)
        before = _pin_numba(call.numba_threads)
        table = dict(call.inputs)
        if call.seeds_tool:
            table["seed"] = call.seed
        inputs = tools.make_inputs(tool, table, scene=scene, source=f"task {call.index}")
        result = tools.run(tool, inputs, tools.Context(scene=scene))
        out, left_out = flatten(result)
        return {"status": "ok", "error": "", "out": out, "left_out": left_out}
    except Exception as e:  # a tool's failure is data: reported, retried, never dropped
        return failed(e)
    finally:
        if before is not None:  # the in-process executor runs tasks in the caller's thread
            import numba
            numba.set_num_threads(before)
