"""Bench steps for `twin3d sweep`: the coupled-rig simulator swept over model variants on a
Dask LocalCluster (all workers, and one) against a plain loop in this process, with the answers
compared bit for bit; and the executors' cost per task against the task itself."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time

from twin3d.bench import best, figure


def _plan(n: int, seconds: float):
    """n variants: earthquake or noise, 4 dispersed models each (own seeds per task)."""
    from twin3d import tools
    from twin3d.scenefile.records import load_scene
    from twin3d.sweep import plan as plans

    scene = load_scene("three_storey")
    fixed = {"duration_s": seconds, "sample_rate_hz": 1024.0, "scenarios": 4,
             "stiffness_sd_n_per_m": 1000.0, "mass_sd_kg": 0.1}
    vary = plans.parse_vary(["excitation=choice(earthquake|white_noise)",
                             "pga_m_s2=uniform(0.5, 2)", "noise_rms_n=uniform(5, 20)"])
    return plans.sample_plan(tools.get("simulator"), fixed, vary, n, 1, scene), scene


def _calls(plan):
    from twin3d.sweep.task import TaskCall

    return [TaskCall(plan.module, t.index, t.seed, t.inputs, plan.seeds_tool, 1)
            for t in plan.tasks]


@contextlib.contextmanager
def _cluster(workers: int, preload: tuple[str, ...] = ()):
    """A Dask executor on a LocalCluster of `workers` (started and warmed outside timings)."""
    from twin3d.sweep.dask_cluster import local_cluster
    from twin3d.sweep.executors import open_executor, parse_executor

    cluster = local_cluster(workers)
    try:
        spec = parse_executor("dask://" + cluster.scheduler_address.removeprefix("tcp://"))
        with open_executor(spec, preload=preload) as ex:
            yield ex
    finally:
        cluster.close()


def _loop_in_child(n: int, seconds: float, repeat: int) -> None:
    """(in a child process) best wall time of the plain loop and its answers, as JSON."""
    from twin3d.sweep.task import run_task

    plan, scene = _plan(n, seconds)
    calls = _calls(plan)
    run_task(calls[0], scene)  # compile or load the kernels outside the timing
    answers = []
    t = best(lambda: answers.append([run_task(c, scene)["out"] for c in calls]), repeat)
    print(json.dumps({"wall_s": t, "outs": answers[-1]}))


def _plain_loop(n: int, seconds: float, repeat: int) -> tuple[float, list]:
    """The plain loop, in a fresh process with the workers' thread settings (one BLAS and
    numba thread), so that the figure compares parallelism, not thread settings."""
    from twin3d.sweep.executors import PINNED_ENV

    code = ("from twin3d.bench.sweep import _loop_in_child; "
            f"_loop_in_child({n}, {seconds!r}, {repeat})")
    env = {**os.environ, **PINNED_ENV, "NUMBA_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["wall_s"], out["outs"]


def bench_scaling(n: int, seconds: float, repeat: int) -> list[dict]:
    """Best of `repeat` rounds of the plain loop, a LocalCluster of 1 worker and one of every
    core, the three interleaved in each round (a shared machine's load falls on all alike);
    the answers compared bit for bit."""
    from twin3d.sweep.executors import default_workers
    from twin3d.sweep.runner import run_plan

    plan, scene = _plan(n, seconds)
    cores = default_workers()
    times = {"loop": [], "one": [], "all": []}
    answers = {}
    with _cluster(1, (plan.module,)) as one, _cluster(cores, (plan.module,)) as every:
        for ex in (one, every):  # warm: the first answers, the scene on every worker
            run_plan(dataclasses.replace(plan, tasks=plan.tasks[:2 * cores]), ex, scene)
        for _ in range(repeat):
            t, loop = _plain_loop(n, seconds, 1)
            times["loop"].append(t)
            for ex, k in ((one, "one"), (every, "all")):
                t0 = time.perf_counter()
                answers[k] = run_plan(plan, ex, scene).rows
                times[k].append(time.perf_counter() - t0)
    same = all(r["status"] == "ok" and r["out"] == out
               for k in ("one", "all") for r, out in zip(answers[k], loop))
    t_loop, t_one, t_all = (min(times[k]) for k in ("loop", "one", "all"))
    what = (f"sweep: simulator over {n} variants ({seconds:g} s earthquake/noise, 4 dispersed "
            f"models each), Dask LocalCluster of {cores} workers")
    goal = 0.8 * cores  # scaling within 80 % of the cores available
    a = figure(what, t_all, t_loop, "plain loop in one process (1 BLAS/numba thread)", "s",
               goal)
    b = figure(what, t_all, t_one, "the same kind of LocalCluster with 1 worker", "s", goal)
    for f in (a, b):
        f["identical_results"] = bool(same)
    return [a, b]


def bench_overhead(n: int) -> list[dict]:
    """Per-task cost of each executor beyond a bare call (a `modes` task, ~1 ms), beside one
    simulator task of the scaling step: the share of a real task the executor takes."""
    from twin3d import tools
    from twin3d.scenefile.records import load_scene
    from twin3d.sweep import plan as plans
    from twin3d.sweep.executors import ExecutorSpec, open_executor
    from twin3d.sweep.runner import run_plan
    from twin3d.sweep.task import run_task

    scene = load_scene("three_storey")
    tiny = plans.grid_plan(tools.get("modes"), {}, {"profile": list(scene.data.profiles)}, 0,
                           scene)
    tiny = dataclasses.replace(tiny, tasks=tuple(  # the profiles round and round, n tasks
        plans.Task(i, 0, tiny.tasks[i % len(tiny.tasks)].inputs) for i in range(n)))
    calls = _calls(tiny)
    run_task(calls[0], scene)
    bare = best(lambda: [run_task(c, scene) for c in calls], 3) / n
    sim_plan, _ = _plan(1, 60.0)  # the unit of work: 60 s of rig time
    sim_call = _calls(sim_plan)[0]
    run_task(sim_call, scene)
    task_s = best(lambda: run_task(sim_call, scene), 3)
    out = []
    for name, opened in [("process pool (1 worker)",
                          lambda: open_executor(ExecutorSpec("processes"), workers=1,
                                                preload=(tiny.module,))),
                         ("Dask LocalCluster (1 worker)", lambda: _cluster(1, (tiny.module,)))]:
        with opened() as ex:
            run_plan(tiny, ex, scene)  # warm: worker started, tool imported
            t0 = time.perf_counter()
            run_plan(tiny, ex, scene)
            per_task = (time.perf_counter() - t0) / n
        over = max(per_task - bare, 1e-9)
        f = figure(f"sweep: executor cost per task, {name}, {n} tiny tasks", over, task_s,
                   "one 60 s simulator task (4 models)", "s", 10.0)
        f["bare_call_s"], f["per_task_s"] = bare, per_task
        out.append(f)
    return out


def steps(quick: bool) -> list:
    return [
        ("sweep scaling", lambda: bench_scaling(16 if quick else 64, 60.0,
                                                 2 if quick else 3)),
        ("sweep overhead", lambda: bench_overhead(100 if quick else 400)),
    ]
