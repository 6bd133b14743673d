"""Runs a plan on an executor: every task submitted, a failed one reported with its inputs
and retried once, every task accounted for in the rows (status ok or failed), in task order
whatever the order they finished in."""

from __future__ import annotations

import concurrent.futures as cf
import time
from dataclasses import dataclass, field
from typing import Any

from twin3d.sweep.plan import Plan, Task
from twin3d.sweep.progress import Progress
from twin3d.sweep.task import TaskCall, failed, run_task

ATTEMPTS = 2  # the first run and one retry
MAX_PENDING = 512


@dataclass
class Outcome:
    rows: list[dict[str, Any]]  # one per task, in task order
    failed: list[dict[str, Any]] = field(default_factory=list)  # task, inputs, error
    retried: int = 0
    left_out: list[str] = field(default_factory=list)  # array results not in the table
    wall_s: float = 0.0


def describe_inputs(task: Task) -> str:
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                    for k, v in task.inputs.items()) or "(defaults)"


def _call(plan: Plan, task: Task, numba_threads: int) -> TaskCall:
    return TaskCall(plan.module, task.index, task.seed, task.inputs, plan.seeds_tool,
                    numba_threads)


def _answer(future: cf.Future) -> dict[str, Any]:
    """The task's row, or a failed one when the executor itself lost it (a worker died)."""
    try:
        return future.result()
    except Exception as e:
        return failed(e)


def run_plan(plan: Plan, executor: cf.Executor, scene=None, numba_threads: int = 1,
             progress: Progress | None = None) -> Outcome:
    """Every task of `plan` on `executor` (the scene given to each), in a bounded window."""
    t0 = time.perf_counter()
    answers: dict[int, tuple[dict, int]] = {}
    pending: dict[cf.Future, tuple[Task, int]] = {}
    retried = 0
    # sent once to every worker where the executor can (Dask), else with each task
    shared_scene = executor.share(scene) if hasattr(executor, "share") else scene

    def submit(task: Task, attempt: int) -> None:
        try:
            pending[executor.submit(run_task, _call(plan, task, numba_threads),
                                    shared_scene)] = (task, attempt)
        except Exception as e:  # a broken pool refuses new work: the task fails, visibly
            answers[task.index] = (failed(e), attempt)

    # a bounded window of tasks in flight: memory stays flat for 10^5 tasks, and the
    # in-process executor (which runs a task at submit) reports progress task by task
    window = max(1, int(getattr(executor, "max_pending", MAX_PENDING)))
    queue = iter(plan.tasks)
    if progress:
        progress.start()
    n_failed = 0
    while True:
        while len(pending) < window and (task := next(queue, None)) is not None:
            submit(task, 1)
        if not pending:
            break
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            task, attempt = pending.pop(fut)
            row = _answer(fut)
            if row["status"] != "ok" and attempt < ATTEMPTS:
                retried += 1
                if progress:
                    progress.note(f"twin3d sweep: task {task.index} ({describe_inputs(task)}) "
                                  f"failed: {row['error']}; retrying once")
                submit(task, attempt + 1)
                continue
            if row["status"] != "ok":
                n_failed += 1
                if progress:
                    progress.note(f"twin3d sweep: task {task.index} ({describe_inputs(task)}) "
                                  f"failed again: {row['error']}")
            answers[task.index] = (row, attempt)
            if progress:
                progress.update(len(answers), n_failed)
    return _outcome(plan, answers, retried, time.perf_counter() - t0)


def _outcome(plan: Plan, answers: dict, retried: int, wall_s: float) -> Outcome:
    rows, bad, left_out = [], [], []
    for task in plan.tasks:
        row, attempts = answers[task.index]
        rows.append({"task": task.index, "seed": task.seed, "inputs": task.inputs,
                     "status": row["status"], "error": row["error"], "attempts": attempts,
                     "out": row["out"]})
        left_out += [n for n in row["left_out"] if n not in left_out]
        if row["status"] != "ok":
            bad.append({"task": task.index, "inputs": task.inputs, "error": row["error"]})
    return Outcome(rows, bad, retried, left_out, wall_s)
