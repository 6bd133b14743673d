"""`twin3d history`: what the monitoring history holds (tracked frequencies per mode and day,
calibrations, alarms, localisations, commands), and the `--store` option the live commands
share (`monitor`, `record`, `run`, `demo`)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime

from twin3d.cli.common import UsageError, emit, number

KINDS = ("tracker", "calibration", "localisation", "alarm", "command", "ack")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNIT_S = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
MAX_AGE_S = 100 * 365 * 86400.0


# --- option types ------------------------------------------------------------------------------

def store_url(text: str) -> str:
    """An option type: `none`, `sqlite:///PATH` or `postgresql://USER@HOST:PORT/DB` (the form;
    whether it answers is found out by the writer, which retries)."""
    if text.strip().lower() == "none":
        return "none"
    from twin3d.history.store import check_url

    try:
        return check_url(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def since_time(text: str, now: float | None = None) -> float:
    """An option type: a relative age (`90s`, `30m`, `2h`, `7d`, `1w`) or an ISO 8601 time
    (`2026-11-30`, `2026-11-30T08:00`, with an offset or `Z`; without one it is UTC); the wall
    time (s since the epoch) it names, not in the future."""
    now = time.time() if now is None else now
    s = text.strip()
    m = _RELATIVE.match(s)
    if m:
        age = float(m.group(1)) * _UNIT_S[m.group(2)]
        if age > MAX_AGE_S:
            raise argparse.ArgumentTypeError(f"too far back (got {text!r}, at most 100 years)")
        return now - age
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time (got {text!r}; allowed: an age such as 2h, 7d, 30m, 90s, 1w, or an ISO "
            "time such as 2026-11-30T08:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    t = dt.timestamp()
    if t > now + 60:
        raise argparse.ArgumentTypeError(f"in the future (got {text!r})")
    return t


# --- --store on the live commands ----------------------------------------------------------------

def store_option(sp: argparse.ArgumentParser, default_on: bool = True) -> None:
    if default_on:
        help_ = ("monitoring history: sqlite:///PATH, postgresql://USER@HOST:PORT/DB or none "
                 "(default: the SQLite file in the user's data folder, $TWIN3D_DATA_DIR or "
                 "~/.local/share/twin3d)")
    else:
        help_ = ("also store the acks heard in the monitoring history: sqlite:///PATH or "
                 "postgresql://USER@HOST:PORT/DB (default: none)")
    sp.add_argument("--store", type=store_url, default=None if default_on else "none",
                    metavar="URL", help=help_)


def say_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def attach_history(feed, url: str | None):
    """The HistoryFeed on `url` (None: default file, "none": off), attached to the LiveFeed."""
    from twin3d.live.history_feed import HistoryFeed

    return HistoryFeed.open_for(feed, url, say=say_stderr)


# --- twin3d history ------------------------------------------------------------------------------

def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summary(store, since: float | None, until: float | None, kinds, rig: str | None,
            limit: int) -> dict:
    """What the command prints: per-mode statistics per day and over the span, the last
    calibration, the alarms, and the other records of the kinds asked for (newest last)."""
    out: dict = {"store": store.shown, "schema_version": store.version,
                 "since": None if since is None else _iso(since),
                 "until": None if until is None else _iso(until), "rig": rig}
    want = set(kinds or KINDS)
    if "tracker" in want:
        out["modes_per_day"] = store.mode_stats(since, until, rig, per_day=True)
        out["modes"] = store.mode_stats(since, until, rig, per_day=False)
        out["tracker_updates"] = store.count("tracker", since, until, rig)
    if "calibration" in want:
        # the last one that took (a refused calibration is listed, not "the last calibration")
        recent = store.query(None, until, ("calibration",), rig, limit=100, newest_first=True)
        last = next((r for r in recent if r.payload.get("status") != "refused"), None)
        out["last_calibration"] = _row(last) if last else None
    for kind in ("calibration", "alarm", "localisation", "command", "ack"):
        if kind in want:
            rows = store.query(since, until, (kind,), rig, limit=limit, newest_first=True)
            out[kind + "s"] = [_row(r) for r in reversed(rows)]
    return out


def _row(r) -> dict:
    return {"time": _iso(r.t), "t": r.t, "rig": r.rig, **r.payload}


def _print_text(out: dict) -> None:
    span = f"since {out['since']}" if out["since"] else "all time"
    print(f"history {out['store']} (schema v{out['schema_version']}), {span}"
          + (f", rig {out['rig']}" if out["rig"] else ""))
    if "modes" in out:
        print(f"tracker updates: {out['tracker_updates']}")
        if out["modes"]:
            print("mode   n        min Hz    max Hz    mean Hz   (whole span)")
            for m in out["modes"]:
                print(f"{m['mode']:>4} {m['n']:>7} {m['min_hz']:>9.3f} {m['max_hz']:>9.3f} "
                      f"{m['mean_hz']:>9.3f}")
            print("day          mode   n        min Hz    max Hz    mean Hz")
            for m in out["modes_per_day"]:
                print(f"{m['day']}  {m['mode']:>4} {m['n']:>7} {m['min_hz']:>9.3f} "
                      f"{m['max_hz']:>9.3f} {m['mean_hz']:>9.3f}")
    if "last_calibration" in out:
        c = out["last_calibration"]
        print("last calibration: " + ("none" if c is None else
              f"{c['time']} profile {c.get('profile')} from {c.get('source')}, "
              f"f {', '.join(_hz(c.get('frequencies_hz')))} Hz, residual {c.get('residual')}"))
    for c in out.get("calibrations", []):
        what = (f"refused: {c.get('message', '')}" if c.get("status") == "refused" else
                f"profile {c.get('profile')}, f {', '.join(_hz(c.get('frequencies_hz')))} Hz")
        print(f"calibration {c['time']} [{c['rig']}] {what}")
    for a in out.get("alarms", []):
        print(f"alarm {a['state']:<8} {a['time']} [{a['rig']}] {a['text']}")
    for loc in out.get("localisations", []):
        what = loc.get("unexplained") or ", ".join(
            f"storey {s['storey']} {s['change_percent']:+.1f} % +- {s['ci95_percent']:.1f} %"
            for s in loc.get("storeys", []))
        print(f"localisation {loc['time']} [{loc['rig']}] {what}")
    for c in out.get("commands", []):
        print(f"command {c['time']} [{c['rig']}] {c.get('user')}: {c.get('op')} "
              f"{c.get('args') or ''} {c.get('result', '')}")
    for a in out.get("acks", []):
        print(f"ack     {a['time']} [{a['rig']}] {a.get('op')} {a.get('status')} "
              f"{a.get('result', '')}")


def _hz(values) -> list[str]:
    return ["-" if v is None else f"{v:.3f}" for v in (values or [])]


def cmd_history(args) -> int:
    from twin3d.history.store import StoreError, open_store

    if args.store == "none":
        raise UsageError("twin3d history: --store none holds nothing; give a store URL")
    if args.until is not None and args.since is not None and args.until <= args.since:
        raise UsageError(f"twin3d history: --until must be after --since (got "
                         f"{_iso(args.until)} <= {_iso(args.since)})")
    from twin3d.history.store import default_url, sqlite_path

    url = args.store or default_url()
    if url.startswith("sqlite:") and not sqlite_path(url).is_file() and args.import_file is None:
        raise UsageError(f"twin3d history: no history at {sqlite_path(url)} (nothing recorded "
                         "there yet)")
    try:
        store = open_store(url, connect_timeout_s=5.0)
    except StoreError as e:
        raise UsageError(f"twin3d history: {e}") from None
    try:
        if args.import_file is not None:
            out = _import(store, args.import_file)
        else:
            out = summary(store, args.since, args.until, args.kind, args.rig, args.limit)
    finally:
        store.close()
    if args.json:
        emit(out)
    elif args.import_file is not None:
        print(f"imported {out['new']} new of {out['read']} records from {out['file']} into "
              f"{out['store']}")
    else:
        _print_text(out)
    return 0


def _import(store, path) -> dict:
    """`--import FILE`: records a writer kept when its store was down."""
    try:
        with open(path, encoding="utf-8") as f:
            read, new = store.import_lines(f)
    except OSError as e:
        raise UsageError(f"twin3d history: --import: cannot read {str(path)!r} "
                         f"({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"twin3d history: --import {str(path)!r}: {e}") from None
    return {"store": store.shown, "file": str(path), "read": read, "new": new}


def register(add) -> None:
    h = add("history", cmd_history, "the monitoring history: what f1 did per day, the last "
            "calibration, which alarms fired")
    h.add_argument("--store", type=store_url, default=None, metavar="URL",
                   help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: the user's "
                        "SQLite file)")
    h.add_argument("--since", type=since_time, default=None, metavar="T",
                   help="from T: an age (2h, 7d, 30m) or an ISO time (2026-11-30T08:00Z)")
    h.add_argument("--until", type=since_time, default=None, metavar="T", help="up to T")
    h.add_argument("--kind", action="append", choices=KINDS,
                   help="only this kind of record (repeatable; default all)")
    h.add_argument("--rig", default=None, help="only this rig (mqtt rig id, sim, replay)")
    h.add_argument("--limit", type=number(1, 10**6, integer=True), default=100,
                   help="at most N records of each kind listed (newest)")
    h.add_argument("--import", dest="import_file", metavar="FILE", default=None,
                   help="write the records a twin kept in FILE when its store was down "
                        "(data folder/unwritten/*.jsonl); twice doubles nothing")
