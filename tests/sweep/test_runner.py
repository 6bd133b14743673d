"""Sweeps run: identical tables whatever the executor (in-process, a process pool, a Dask
LocalCluster), a failed task retried once and reported with its inputs, Parquet round trip."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import sweep_flaky_tool

from twin3d import tools
from twin3d.sweep import plan as plans
from twin3d.sweep.executors import ExecutorSpec, InProcess, open_executor
from twin3d.sweep.progress import Progress
from twin3d.sweep.runner import run_plan
from twin3d.sweep.table import read_metadata, to_table, write_parquet
from twin3d.sweep.task import TaskCall, flatten, run_task

SIM = tools.get("simulator")


@pytest.fixture(scope="module")
def sim_plan(scene):
    """Random excitations (the task seed matters) and a dispersed model (5 scenarios)."""
    fixed = {"sample_rate_hz": 256.0, "duration_s": 1.0, "scenarios": 5,
             "stiffness_sd_n_per_m": 500.0}
    vary = plans.parse_vary(["excitation=choice(earthquake|white_noise)",
                             "noise_rms_n=uniform(1, 20)"])
    return plans.sample_plan(SIM, fixed, vary, 6, 11, scene)


@pytest.fixture(scope="module")
def serial_table(sim_plan, scene):
    with open_executor(ExecutorSpec("local")) as ex:
        return to_table(sim_plan, run_plan(sim_plan, ex, scene))


def test_serial_sweep_rows(serial_table, sim_plan):
    t = serial_table.to_pydict()
    assert t["task"] == list(range(6)) and set(t["status"]) == {"ok"}
    assert t["seed"] == [task.seed for task in sim_plan.tasks]
    assert t["in.excitation"] == [task.inputs["excitation"] for task in sim_plan.tasks]
    peaks = t["out.peak_abs_acceleration_m_s2[2]"]
    assert len(set(peaks)) == 6 and all(p > 0 for p in peaks)  # each seed its own record
    # the 5 x 3 scenario peaks fit in the table; time histories and spectra are left out
    assert "out.scenario_peak_displacement_m[4,2]" in t
    meta = json.loads(serial_table.schema.metadata[b"twin3d.sweep"])
    assert "displacement_m" in meta["left_out"] and meta["seed_passed_to_tool"]


def test_a_task_depends_only_on_its_own_call(serial_table, sim_plan, scene):
    """Task 4 run alone (as a worker would, in any order) gives its row of the sweep."""
    task = sim_plan.tasks[4]
    row = run_task(TaskCall(sim_plan.module, task.index, task.seed, task.inputs,
                            sim_plan.seeds_tool, 1), scene)
    assert row["status"] == "ok"
    t = serial_table.slice(4, 1).to_pylist()[0]
    assert all(t[k] == v for k, v in row["out"].items())


def test_processes_equal_serial(sim_plan, scene, serial_table):
    before = dict(os.environ)
    with open_executor(ExecutorSpec("processes"), workers=2, preload=(sim_plan.module,)) as ex:
        table = to_table(sim_plan, run_plan(sim_plan, ex, scene))
        env = [ex.submit(sweep_flaky_tool.worker_env, k).result()
               for k in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")]
    assert table.equals(serial_table, check_metadata=True)
    assert env == ["1", "1", "1"]  # pinned in the workers ...
    assert dict(os.environ) == before  # ... and not here


def test_dask_local_cluster_equals_serial(sim_plan, scene, serial_table, dask_cluster,
                                         dask_spec):
    with open_executor(dask_spec, preload=(sim_plan.module,)) as ex:
        table = to_table(sim_plan, run_plan(sim_plan, ex, scene))
    assert table.equals(serial_table, check_metadata=True)  # bit for bit
    from distributed import Client

    with Client(dask_cluster.scheduler_address, timeout="10s") as client:
        env = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
        warmed = client.run(lambda dask_worker: "twin3d-sweep-warmup" in dask_worker.plugins)
    assert list(env.values()) == ["1", "1"]  # pinned in both workers
    assert list(warmed.values()) == [True, True]


@pytest.mark.parametrize("kind", ["local", "processes", "dask"])
def test_failed_task_retried_once_and_reported(tmp_path, kind, request):
    p = plans.grid_plan(sweep_flaky_tool, {"folder": str(tmp_path)},
                        {"tag": [0, 1, 2], "value": [3.0]}, 0)
    err = io.StringIO()
    spec = request.getfixturevalue("dask_spec") if kind == "dask" else ExecutorSpec(kind)
    with open_executor(spec, workers=2) as ex:
        out = run_plan(p, ex, progress=Progress(len(p.tasks), err))
    rows = {r["task"]: r for r in out.rows}
    assert [rows[i]["status"] for i in range(3)] == ["ok", "ok", "failed"]
    assert [rows[i]["attempts"] for i in range(3)] == [1, 2, 2]
    # the retry's answer, computed with numba pinned to one thread in the worker's thread
    assert rows[1]["out"] == {"out.doubled": 6.0, "out.attempt": 2, "out.numba_threads": 1}
    assert rows[2]["error"] == "RuntimeError: planned failure 2" and rows[2]["out"] == {}
    assert out.retried == 2
    assert out.failed == [{"task": 2, "inputs": {"folder": str(tmp_path), "tag": 2,
                                                 "value": 3.0},
                           "error": "RuntimeError: planned failure 2"}]
    assert [(tmp_path / f"runs-{i}").read_text() for i in range(3)] == ["1", "2", "2"]
    log = err.getvalue()
    assert "task 2 (" in log and "tag=2" in log and "failed again" in log
    assert "3/3 tasks, 1 failed" in log
    table = to_table(p, out).to_pydict()
    assert table["status"] == ["ok", "ok", "failed"] and table["out.doubled"] == [6.0, 6.0, None]


def test_a_dead_worker_is_a_failed_task_not_a_lost_one():
    """An executor that loses the task (as a killed worker does) yields failed rows."""
    class Lost(InProcess):
        def submit(self, fn, /, *args, **kwargs):
            return super().submit(_raise_lost)

    p = plans.grid_plan(sweep_flaky_tool, {}, {"tag": [0, 0]}, 0)
    out = run_plan(p, Lost())
    assert [r["status"] for r in out.rows] == ["failed", "failed"]
    assert all(r["attempts"] == 2 and "worker lost" in r["error"] for r in out.rows)


def test_a_worker_that_dies_leaves_failed_rows(tmp_path):
    """A task that ends its worker's process breaks the pool: it and the tasks lost with it
    are failed rows naming the broken pool; none is missing."""
    p = plans.grid_plan(sweep_flaky_tool, {"folder": str(tmp_path)},
                        {"die": [False, True, False]}, 0)
    with open_executor(ExecutorSpec("processes"), workers=1) as ex:
        out = run_plan(p, ex)
    assert [r["task"] for r in out.rows] == [0, 1, 2]
    assert out.rows[1]["status"] == "failed" and out.rows[1]["attempts"] == 2
    assert "BrokenProcessPool" in out.rows[1]["error"]
    assert all(r["status"] in ("ok", "failed") for r in out.rows)
    assert {f["task"] for f in out.failed} == {r["task"] for r in out.rows
                                               if r["status"] == "failed"}


def _raise_lost():
    raise ConnectionError("worker lost")


def test_flatten_scalars_short_arrays_and_complex():
    from dataclasses import make_dataclass
    R = make_dataclass("R", ["a", "b", "c", "d", "e", "f"])
    cols, left = flatten(R(np.float64(1.5), np.arange(3), np.ones((2, 2)), 2 + 3j,
                           np.zeros(100), "txt"))
    assert cols == {"out.a": 1.5, "out.b[0]": 0, "out.b[1]": 1, "out.b[2]": 2,
                    "out.c[0,0]": 1.0, "out.c[0,1]": 1.0, "out.c[1,0]": 1.0, "out.c[1,1]": 1.0,
                    "out.d.re": 2.0, "out.d.im": 3.0, "out.f": "txt"}
    assert left == ["e"] and type(cols["out.a"]) is float


def test_parquet_round_trip(tmp_path, serial_table):
    path = tmp_path / "r.parquet"
    write_parquet(serial_table, path)
    back = pq.read_table(path)
    assert back.equals(serial_table, check_metadata=True)
    assert read_metadata(path)["tool"] == "simulator" and read_metadata(path)["seed"] == 11
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]  # no temporary file left
