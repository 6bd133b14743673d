"""`twin3d sweep TOOL`: any tool over a grid or random samples of its inputs, on this process,
a process pool or a Dask cluster, into one Parquet table."""

from __future__ import annotations

import time

from twin3d.cli.common import UsageError, emit, number, out_file


def cmd_sweep(args) -> int:
    from twin3d import tools
    from twin3d.scenefile.profiles import load_user_scene
    from twin3d.scenefile.schema import SchemaError
    from twin3d.sweep import plan as plans
    from twin3d.sweep.executors import ExecutorError, open_executor, parse_executor
    from twin3d.sweep.progress import Progress
    from twin3d.sweep.runner import run_plan
    from twin3d.sweep.table import to_table, write_parquet

    if bool(args.grid) == bool(args.samples or args.vary):
        raise UsageError("twin3d sweep: give either --grid key=v1,v2,... or --samples N "
                         "--vary key=dist(...)")
    if args.vary and not args.samples:
        raise UsageError("twin3d sweep: --vary needs --samples N")
    try:
        spec = parse_executor(args.executor)
        tool = tools.get(args.tool)
    except ExecutorError as e:
        raise UsageError(f"twin3d sweep: {e}") from None
    except SchemaError:
        raise UsageError(f"twin3d sweep: no such tool {args.tool!r} (allowed "
                         f"{', '.join(tools.discover())})") from None
    scene = load_user_scene(args.scene)
    try:
        fixed = plans.parse_sets(args.set)
        if args.grid:
            plan = plans.grid_plan(tool, fixed, plans.parse_grid(args.grid), args.seed, scene)
        else:
            plan = plans.sample_plan(tool, fixed, plans.parse_vary(args.vary), args.samples,
                                     args.seed, scene)
    except plans.SweepError as e:
        raise UsageError(str(e)) from None

    t0 = time.perf_counter()
    progress = Progress(len(plan.tasks))
    try:
        with open_executor(spec, args.workers, args.numba_threads, (plan.module,)) as executor:
            outcome = run_plan(plan, executor, scene, args.numba_threads, progress)
    except ExecutorError as e:
        raise UsageError(f"twin3d sweep: {e}") from None
    write_parquet(to_table(plan, outcome), args.out)
    wall = time.perf_counter() - t0
    summary = {"tool": plan.tool, "tasks": len(plan.tasks), "ok": len(plan.tasks) -
               len(outcome.failed), "failed": len(outcome.failed), "retried": outcome.retried,
               "failed_tasks": outcome.failed, "wall_s": wall, "executor": str(spec),
               "out": str(args.out), "seed": plan.seed, "left_out": outcome.left_out}
    if args.json:
        emit(summary)
    else:
        print(f"{plan.tool}: {summary['ok']}/{summary['tasks']} tasks ok on {spec} in "
              f"{wall:.1f} s -> {args.out}")
        if outcome.left_out:
            print(f"array results left out of the table: {', '.join(outcome.left_out)}")
    return 1 if outcome.failed else 0


def register(add) -> None:
    s = add("sweep", cmd_sweep, "run a tool over a grid or random samples of its inputs "
            "(locally, on a process pool or a Dask cluster) into a Parquet table")
    s.add_argument("tool", help="tool name (`twin3d tool list`)")
    s.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="values of one input (repeatable: every combination runs)")
    s.add_argument("--samples", type=number(1, 1_000_000, integer=True),
                   help="number of random tasks (with --vary)")
    s.add_argument("--vary", action="append", default=[], metavar="KEY=DIST",
                   help="uniform(a,b), normal(mu,sigma), lognormal(mu,sigma), randint(a,b) or "
                        "choice(v1|v2|...) (repeatable)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an input held fixed (TOML literal)")
    s.add_argument("--executor", default="local",
                   help="local | processes | dask://HOST:PORT | dask://local (default local)")
    s.add_argument("--workers", type=number(1, 1024, integer=True),
                   help="processes or dask://local workers (default: the CPUs available)")
    s.add_argument("--numba-threads", type=number(1, 256, integer=True), default=1,
                   help="numba threads per worker (default 1: one task per core)")
    s.add_argument("--seed", type=number(0, 2**63 - 1, integer=True), default=0,
                   help="root seed; task i gets the i-th spawned seed (default 0)")
    s.add_argument("--out", type=out_file, required=True, help="the Parquet file to write")
