"""The sweep's result table: one row per task, written to Parquet (pyarrow) atomically (a
temporary file beside the target, then renamed: an interrupted sweep leaves nothing).

Columns: task, seed, `in.<key>` for every --set and swept input, status (ok | failed), error
(empty when ok), attempts (1, or 2 after a retry), then `out.<name>` for every scalar result and
`out.<name>[i]` for every element of a short array (see task.MAX_ELEMENTS). The schema's
metadata `twin3d.sweep` (JSON) names the tool, the seed and the array results left out."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from twin3d.sweep.plan import Plan
from twin3d.sweep.runner import Outcome

META_KEY = b"twin3d.sweep"


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def to_table(plan: Plan, outcome: Outcome) -> pa.Table:
    cols: dict[str, list] = {"task": [], "seed": []}
    for key in plan.keys:
        cols[f"in.{key}"] = []
    for name in ("status", "error", "attempts"):
        cols[name] = []
    out_names: list[str] = []
    for row in outcome.rows:  # the union of the result columns, in first-seen order
        out_names += [k for k in row["out"] if k not in cols and k not in out_names]
    for k in out_names:
        cols[k] = []
    for row in outcome.rows:
        cols["task"].append(row["task"])
        cols["seed"].append(row["seed"])
        for key in plan.keys:
            cols[f"in.{key}"].append(_plain(row["inputs"].get(key)))
        for name in ("status", "error", "attempts"):
            cols[name].append(row[name])
        for k in out_names:
            cols[k].append(row["out"].get(k))  # None (null) where a task has no such result
    types = {"task": pa.int64(), "seed": pa.int64(), "status": pa.string(),
             "error": pa.string(), "attempts": pa.int8()}
    arrays = {k: pa.array(v, type=types.get(k)) for k, v in cols.items()}
    meta = {"tool": plan.tool, "seed": plan.seed, "tasks": len(plan.tasks),
            "seed_passed_to_tool": plan.seeds_tool, "left_out": outcome.left_out}
    return pa.table(arrays).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})


def write_parquet(table: pa.Table, path: Path) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the results from the team
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_metadata(path: Path) -> dict:
    return json.loads(pq.read_schema(path).metadata[META_KEY])
