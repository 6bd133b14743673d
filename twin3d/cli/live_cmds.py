"""Live-twin commands: `monitor` (headless ingest + estimator), `record` (a source to a folder)
and `replay` (a recording to a broker, to a file, or through the estimator)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from twin3d.cli.common import (UsageError, emit, mqtt_client_args, mqtt_options, new_folder,
                               number, out_file, profile_option)
from twin3d.cli.history_cmds import attach_history, say_stderr, store_option

WEEK_S = 7 * 86400.0


def _open(url: str, scene, cmd: str):
    from twin3d.live.sources import open_source

    try:
        return open_source(url, scene)
    except ValueError as e:
        raise UsageError(f"twin3d {cmd}: --source: {e}") from None
    except FileNotFoundError as e:
        raise UsageError(f"twin3d {cmd}: {e}") from None


def _reachable(ingest, timeout: float, cmd: str) -> None:
    """A source behind a broker that never answers is bad input (exit 2), not an empty run."""
    link = getattr(ingest, "link", None)
    wait = getattr(link, "wait_connected", None)
    if wait is not None and not wait(timeout):
        raise UsageError(f"twin3d {cmd}: --source: no connection to the broker for "
                         f"{_shown(ingest.url)} ({link.last_error or 'no answer'})")


def _shown(url: str) -> str:
    """A source URL as printed or stored: never with a password (twin3d.io.mqtt_link)."""
    from twin3d.io.mqtt_link import redact_url

    return redact_url(url)


def _trust(ingest) -> str | None:
    """What backs the rig's acks and state (None for a source without them)."""
    link = getattr(ingest, "link", None)
    if link is None or not hasattr(link, "publish"):
        return None
    from twin3d.live.command_channel import link_trust

    return link_trust(link)


def _none_if_nan(values) -> list:
    return [None if not math.isfinite(v) else round(v, 4) for v in values]


def _jsonl(obj: dict) -> None:
    """One strict JSON object on its own line, flushed at once (a pipe reads it as it comes)."""
    emit(obj)
    sys.stdout.flush()


def _monitor(feed, seconds: float, progress, on_update=None) -> dict:
    """Watch `feed` for `seconds` (inf: until its source ends); every tracker update goes to
    `on_update` (a dict) as it comes, and into the summary's `updates` statistics."""
    from twin3d.live.state import UpdateStats

    ingest = feed.ingest
    stats = UpdateStats()

    def drain() -> None:
        while feed.updates:
            u = feed.updates.popleft()
            stats.add(u)
            if on_update is not None:
                on_update({"kind": "update", **u.to_json()})

    start = time.monotonic()
    end = start + seconds
    next_print = time.monotonic() + 1.0
    while time.monotonic() < end and not ingest.finished:
        ingest.wait(min(0.05, max(end - time.monotonic(), 0.0)))
        feed.advance()
        drain()
        if progress and time.monotonic() >= next_print:
            next_print += 1.0
            st = feed.state()
            c = st.counters
            progress(f"t {st.t:7.2f} s | blocks {c['blocks']} gaps {c['gaps']} crc "
                     f"{c['crc_errors']} invalid {c['invalid']} | {ingest.status} | "
                     f"floor 3 {1e3 * st.floor_disp_m[-1]:+.3f} mm | "
                     f"p50 {feed.latency_ms(50) or float('nan'):.2f} ms")
    feed.settle(120.0 if ingest.finished else 5.0)  # a replay's last fit is part of it
    st = feed.step()
    drain()
    c = st.counters
    link_error = getattr(getattr(ingest, "link", None), "last_error", "")
    # a replay runs until its source ends (seconds = inf): the time it took is what it watched
    watched = seconds if math.isfinite(seconds) else round(time.monotonic() - start, 3)
    return {"source": _shown(ingest.url), "seconds": watched, "status": ingest.status,
            "trust": _trust(ingest),
            "estimator": feed.mode, **{k: c[k] for k in c},
            "latency_ms_p50": feed.latency_ms(50), "latency_ms_p99": feed.latency_ms(99),
            "frequencies_hz": _none_if_nan(st.tracked_hz),
            "model_frequencies_hz": [round(f, 4) for f in st.model_hz],
            "model_profile": st.model_name,
            "alarm": st.alarm, "last_error": ingest.last_error or link_error or "",
            "failovers": getattr(ingest, "failovers", 0),
            "max_gap_s": getattr(ingest, "max_gap_s", None),
            "localisation": list(st.localisation),
            "localisation_status": st.localisation_status,
            "truth_frequencies_hz": [round(f, 4) for f in st.truth_hz] or None,
            "estimate_vs_truth_rel_rms": st.estimate_vs_truth_rel_rms,
            "floor_disp_m": st.floor_disp_m.tolist(), "speed_rpm": st.speed_rpm,
            "updates": stats.summary()}


def cmd_monitor(args) -> int:
    from twin3d.io.mqtt_source import every_rig
    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.profiles import load_user_scene

    if every_rig(args.source):
        return _monitor_every_rig(args)
    scene = load_user_scene(args.scene)
    feed = LiveFeed(_open(args.source, scene, "monitor"), scene, start=False,
                    track_window_s=args.window, profile=args.profile)
    attach_history(feed, args.store)
    feed.ingest.start()
    try:
        _reachable(feed.ingest, min(args.seconds, 5.0), "monitor")
        out = _monitor(feed, args.seconds, None if args.json or args.jsonl else print,
                       _jsonl if args.jsonl else None)
    finally:
        feed.close()
    out["history"] = feed.store.counters()  # after close: what was written in the end
    if args.jsonl:
        _jsonl({"kind": "summary", **out})
    elif args.json:
        emit(out)
    else:
        print(f"{out['blocks']} blocks, {out['samples']} samples, {out['gaps']} gaps, "
              f"{out['crc_errors']} CRC errors, {out['invalid']} invalid, {out['overflows']} "
              f"overflows; latency p50 {out['latency_ms_p50']} ms, p99 {out['latency_ms_p99']} "
              f"ms; tracked {out['frequencies_hz']} Hz, model {out['model_frequencies_hz']} Hz")
    return 0


def _monitor_every_rig(args) -> int:
    """`--source mqtt://.../+`: every rig on the broker, one summary per rig id (counters,
    latency, failovers, longest gap; no estimator)."""
    from twin3d.io.mqtt_source import EveryRig

    try:
        rigs = EveryRig(args.source)
    except ValueError as e:
        raise UsageError(f"twin3d monitor: --source: {e}") from None
    rigs.start()
    try:
        _reachable(rigs, min(args.seconds, 5.0), "monitor")
        lat: dict[str, list[float]] = {}
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            rigs.wait(min(0.05, max(end - time.monotonic(), 0.0)))
            for rig, items in rigs.poll().items():
                lat.setdefault(rig, []).extend((it.t_recv_ns - it.t_rig_ns) / 1e6
                                               for it in items)
    finally:
        rigs.stop()
    out = {"source": rigs.url, "seconds": args.seconds, "rigs": {},
           "failovers": rigs.link.counters.failovers, "ignored": rigs.ignored,
           "last_error": rigs.link.last_error or ""}
    for rig, src in sorted(rigs.rigs.items()):
        ms = sorted(lat.get(rig, []))
        pct = (lambda q: round(ms[min(len(ms) - 1, int(q / 100 * len(ms)))], 3) if ms else None)
        out["rigs"][rig] = {"status": src.status, **src.counters, "latency_ms_p50": pct(50),
                            "latency_ms_p99": pct(99), "max_gap_s": src.max_gap_s,
                            "last_error": src.last_error}
    if args.json or args.jsonl:  # no tracker here: the summary is the one line
        emit(out)
    else:
        for rig, r in out["rigs"].items():
            print(f"{rig}: {r['status']}; {r['blocks']} blocks, {r['gaps']} gaps "
                  f"({r['lost_blocks']} lost); latency p99 {r['latency_ms_p99']} ms; longest "
                  f"gap {r['max_gap_s']:.3f} s")
        print(f"{len(out['rigs'])} rigs; failovers {out['failovers']}")
    return 0


def cmd_record(args) -> int:
    from twin3d.io.recorder import Recorder
    from twin3d.scenefile.profiles import load_user_scene

    scene = load_user_scene(args.scene)
    ingest = _open(args.source, scene, "record")
    if args.out.exists() and (args.out / "blocks.t3d").exists():
        raise UsageError(f"twin3d record: --out {args.out} already holds a recording "
                         "(choose a new folder)")
    rec = Recorder(args.out, {"source": _shown(args.source), "scene": scene.data.name})
    acks = _ack_store(args.store, args.source)
    meta_written = None
    end = time.monotonic() + args.seconds if args.seconds else math.inf
    interrupted = False
    ingest.start()
    try:
        while time.monotonic() < end and not ingest.finished:
            ingest.wait(0.05)
            items = ingest.poll()
            if ingest.meta_raw is not None and ingest.meta_raw is not meta_written:
                rec.write_meta({**ingest.meta_raw, "source": _shown(args.source),
                                "scene": scene.data.name})
                meta_written = ingest.meta_raw
            for it in items:
                rec.write_block(it.raw)
            while ingest.events:
                e = ingest.events.popleft()
                if acks is not None and e.get("kind") == "ack":
                    acks(e)
                rec.event(e.pop("kind", "event"), **e)
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C ends a recording normally: everything so far is on disk
    finally:
        ingest.stop()
        rec.close()
        history = acks.close() if acks is not None else None
    out = {"out": str(args.out), "source": _shown(args.source), "blocks": rec.blocks,
           "bytes": rec.bytes, "events": rec.events, "interrupted": interrupted,
           **{k: v for k, v in ingest.counters.items() if k != "blocks"},
           "failovers": getattr(ingest, "failovers", 0),
           "max_gap_s": getattr(ingest, "max_gap_s", None),
           "last_error": ingest.last_error, "history": history}
    if args.json:
        emit(out)
    else:
        print(f"recorded {rec.blocks} blocks ({rec.bytes} bytes), {rec.events} events to "
              f"{args.out}; gaps {out['gaps']}, CRC errors {out['crc_errors']}")
    return 0


class _AckStore:
    """`record --store URL`: the acks heard on the wire (any operator's) into the history."""

    def __init__(self, url: str, source: str):
        from twin3d.history import Writer, records
        from twin3d.live.history_feed import rig_of

        self.records, self.rig = records, rig_of(source)
        self.writer = Writer(url, say=say_stderr)

    def __call__(self, e: dict) -> None:
        self.writer.put(self.records.ack(
            str(e.get("op", "")), str(e.get("id", "")), str(e.get("status", "")),
            user=str(e.get("user", "")), result=str(e.get("outcome") or e.get("reason") or ""),
            rig=self.rig))

    def close(self) -> dict:
        return self.writer.close()


def _ack_store(url: str | None, source: str) -> _AckStore | None:
    return None if url in (None, "none") else _AckStore(url, source)


def cmd_replay(args) -> int:
    from twin3d.io import recorder
    from twin3d.scenefile.profiles import load_user_scene

    if not (args.dir / recorder.BLOCKS).is_file():
        raise UsageError(f"twin3d replay: {args.dir} is not a recording folder "
                         f"(no {recorder.BLOCKS})")
    if args.export:
        if args.out is None:
            raise UsageError("twin3d replay: --export needs --out FILE")
    if args.export in ("uff", "hdf5", "parquet"):  # exchange formats: twin3d.formats
        from twin3d.cli.import_cmds import export_recording

        out = export_recording(args.dir, args.export, args.out, load_user_scene(args.scene))
    elif args.export:
        rec = recorder.read_recording(args.dir)
        fn = recorder.export_csv if args.export == "csv" else recorder.export_npz
        try:
            path = fn(rec, args.out)
        except OSError as e:
            raise UsageError(f"twin3d replay: --out: cannot write {str(args.out)!r} "
                             f"({e.strerror or e})") from None
        out = {"export": args.export, "out": str(path), **rec.summary()}
    elif args.mqtt:
        out = _republish(args)
    else:
        from twin3d.live.live_feed import LiveFeed

        scene = load_user_scene(args.scene)
        url = f"replay:{args.dir}?speed={args.speed:g}"
        feed = LiveFeed(_open(url, scene, "replay"), scene)
        rec = feed.ingest.recording
        try:
            out = _monitor(feed, math.inf, None if args.json else print)
        finally:
            feed.close()
        out.update(recovered=rec.recovered, torn_tail=rec.torn_tail,
                   torn_tail_bytes=rec.torn_tail_bytes)
    if args.json:
        emit(out)
    else:
        print(" ".join(f"{k}={v}" for k, v in out.items() if not isinstance(v, list)))
        if "parts" in out:  # an export of a recording that lost blocks: one file per run
            print(f"twin3d replay: {out['gaps']} gap(s) of lost blocks: written as "
                  f"{len(out['parts'])} files, one per unbroken run: {', '.join(out['parts'])}")
    return 0


def _republish(args) -> dict:
    import json

    from twin3d.io.mqtt_link import MqttLink, Topics, parse_hostports
    from twin3d.io.replay_source import ReplaySource

    try:
        nodes = parse_hostports(args.mqtt)  # one broker, or the nodes of a cluster
    except ValueError as e:
        raise UsageError(f"twin3d replay: --mqtt: {e}") from None
    host, port = nodes[0]
    src = ReplaySource(f"replay:{args.dir}", str(args.dir), args.speed)
    rec = src.recording
    topics = Topics.for_rig(args.rig_id)
    link = MqttLink(nodes, **mqtt_client_args(args)).start()
    try:
        if not link.wait_connected(10):
            raise UsageError(f"twin3d replay: --mqtt: no connection to the broker at "
                             f"{host}:{port} ({link.last_error or 'no answer'})")
        if rec.meta:
            link.publish(topics.meta, json.dumps(rec.meta), qos=1, retain=True)
        src.start()
        sent = 0
        while not src.finished:
            src.wait(0.05)
            for it in src.poll():
                # QoS 1: a replay is not live, so it may wait for the broker's acknowledgement
                sent += link.publish(topics.data, it.raw, qos=1)
        # let paho's thread flush before disconnecting
        deadline = time.monotonic() + 5
        while link._client.want_write() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        link.stop()
    return {"mqtt": f"{host}:{port}", "topic": topics.data, "published": sent,
            "publish_failed": link.counters.publish_failed, **rec.summary()}


def register(add) -> None:
    m = add("monitor", cmd_monitor, "headless ingest and estimator: rates, gaps, CRC errors, "
            "latency, tracked frequencies")
    m.add_argument("--source", default="sim",
                   help="sim, mqtt://HOST:PORT[,HOST:PORT...][/RIG] (RIG +: every rig), "
                        "serial:///dev/ttyX, replay:PATH[?speed=X]")
    m.add_argument("--seconds", type=number(0, WEEK_S, lo_open=True), default=5.0,
                   help="how long to watch (s)")
    m.add_argument("--window", type=number(1.0, 600.0), default=10.0,
                   help="frequency-tracking window (s, 1..600; lengthened to what the "
                        "structure's modes and rate need); estimates start once it is full")
    m.add_argument("--jsonl", action="store_true",
                   help="one JSON object per tracker update on stdout as it comes, then the "
                        "summary as the last line")
    profile_option(m)
    store_option(m)
    r = add("record", cmd_record, "record a source to a folder (meta.json, blocks.t3d, "
            "events.jsonl)")
    r.add_argument("--source", required=True, help="as for monitor")
    r.add_argument("--out", required=True, type=new_folder, help="recording folder to create")
    r.add_argument("--seconds", type=number(0, WEEK_S, lo_open=True), default=None,
                   help="stop after S s (default: Ctrl-C)")
    store_option(r, default_on=False)
    p = add("replay", cmd_replay, "replay a recording: through the estimator, to a broker "
            "(--mqtt) or to a file (--export)")
    p.add_argument("dir", type=Path, help="recording folder")
    p.add_argument("--speed", type=number(0.0, 1000.0), default=1.0,
                   help="x real time, 0..1000 (0: as fast as possible)")
    p.add_argument("--mqtt", metavar="HOST:PORT", help="republish on twin3d/<rig>/data")
    p.add_argument("--rig-id", default="rig1", help="rig id for --mqtt topics")
    mqtt_options(p)
    p.add_argument("--export", choices=("csv", "npz", "uff", "hdf5", "parquet"),
                   help="write the samples to --out (uff: UFF 58 per channel; hdf5, parquet: "
                        "SEP-005 channels)")
    p.add_argument("--out", type=out_file, help="file for --export")
