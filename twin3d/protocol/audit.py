"""Persistent, append-only audit log: every command, ack, trip and dry-run refusal, as JSONL.

One file, `audit.jsonl`, in the folder `$TWIN3D_AUDIT_DIR` (default
`~/.local/share/twin3d/audit`). Each record is one JSON line with the wall time (`t`, s since the
Unix epoch, and `time`, ISO 8601 UTC), who wrote it (`by`: rig or twin, host, pid), the user and
the `kind` (command, ack, trip, bad_command, dry_run, start, stop, alarm_ack: an operator
acknowledged an alarm on the twin's banner). The rig process and any
number of twins append to the same file: every line goes down in one `write` on an O_APPEND
descriptor, so concurrent writers never interleave inside a line. Nothing is ever rewritten; a
torn last line (a writer killed mid-write) is skipped by the reader and counted.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

FILE_NAME = "audit.jsonl"


def audit_dir() -> Path:
    env = os.environ.get("TWIN3D_AUDIT_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "twin3d" / "audit"


class AuditLog:
    """Appends records to <folder>/audit.jsonl; `by` says which side writes (rig, twin)."""

    def __init__(self, by: str, folder: str | Path | None = None, **context):
        self.folder = Path(folder) if folder is not None else audit_dir()
        self.path = self.folder / FILE_NAME
        self.by = by
        self.context = {"host": socket.gethostname(), "pid": os.getpid(), **context}
        self.errors = 0
        self.last_error = ""
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            size = os.fstat(self._fd).st_size
            if size and os.pread(self._fd, 1, size - 1) != b"\n":
                os.write(self._fd, b"\n")  # end a torn line so that ours starts clean
        return self._fd

    def write(self, kind: str, /, **fields) -> bool:
        """Append one record; False (counted in `errors`) when the disk refuses, never raises."""
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        # the record's own time and kind win over same-named fields (an ack's `t` is its sender's)
        rec = {**self.context, **fields, "t": now, "time": stamp, "by": self.by, "kind": kind}
        line = (json.dumps(rec, default=str, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            os.write(self._open(), line)
            return True
        except OSError as e:
            self.errors += 1
            self.last_error = f"audit log {self.path}: {e}"
            return False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_audit(folder: str | Path | None = None) -> tuple[list[dict], int]:
    """All records of the audit log in order, and the number of unreadable (torn) lines."""
    path = (Path(folder) if folder is not None else audit_dir()) / FILE_NAME
    if not path.exists():
        return [], 0
    records, bad = [], 0
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                bad += 1
                continue
            if isinstance(rec, dict):
                records.append(rec)
            else:
                bad += 1
    return records, bad
