"""`twin3d calibrate`: the live twin learns its rig from a source's data and (optionally)
saves the calibrated model as a profile that `--profile NAME` starts on."""

from __future__ import annotations

import time

from twin3d.cli.common import UsageError, emit, number, profile_option
from twin3d.cli.history_cmds import attach_history, say_stderr, store_option
from twin3d.cli.live_cmds import _open, _reachable, _shown

HOUR_S = 3600.0


def _round(values, digits: int = 4) -> list:
    return [round(float(v), digits) for v in values]


def cmd_calibrate(args) -> int:
    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.profiles import load_user_scene

    scene = load_user_scene(args.scene)
    if args.save_as:
        from twin3d.scenefile.profiles import _path

        _path(args.save_as)  # a bad name is refused before any data is collected
    feed = LiveFeed(_open(args.source, scene, "calibrate"), scene, profile=args.profile,
                    start=False, commands=False)
    attach_history(feed, args.store)
    say = None if args.quiet else say_stderr
    feed.ingest.start()
    cal = None
    try:
        _reachable(feed.ingest, 5.0, "calibrate")
        start_hz = feed.model_hz
        # source time may run slower than the wall clock (a slow replay): allow for it
        deadline = time.monotonic() + 3 * args.seconds + 30.0
        next_say = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            feed.ingest.wait(0.05)
            feed.advance()
            if cal is None and feed.est is not None:
                cal = feed.calibrate(args.seconds, args.save_as, args.fit_mass)
            if cal is not None and not cal.active:
                break
            if feed.ingest.finished and (cal is None or cal.state == "collecting"):
                got = cal.progress * args.seconds if cal is not None else 0.0
                raise UsageError(f"twin3d calibrate: the source ended after {got:.1f} s of "
                                 f"data (--seconds {args.seconds:g} asked)")
            if say and time.monotonic() >= next_say:
                next_say += 1.0
                say(f"calibrate: {cal.message if cal is not None else 'waiting for data'}")
        else:
            raise UsageError(f"twin3d calibrate: no result within {3 * args.seconds + 30:.0f} s "
                             f"({cal.message if cal is not None else 'no data arrived'})")
        st = feed.state()
    finally:
        feed.close()
    if cal.state != "done":
        raise UsageError(f"twin3d calibrate: {cal.message} (the model {feed.profile_name!r} "
                         "is kept)")
    r = cal.result
    out = {"source": _shown(feed.ingest.url), "seconds": args.seconds,
           "profile": cal.profile, "saved": cal.saved, "start_profile": cal.start_profile,
           "frequencies_hz": _round(r.frequencies_hz),
           "start_frequencies_hz": _round(start_hz),
           "frame_frequencies_hz": _round(r.frame_frequencies_hz),
           "damping_ratios": _round(r.damping_ratios, 6),
           "storey_stiffness_n_per_m": _round(r.stiffness_n_per_m, 1),
           "storey_damping_ns_per_m": _round(r.damping_ns_per_m),
           "mass_kg": _round(r.mass_kg),
           "fit": {"residual": r.fit_error, "start_residual": r.start_error,
                   "coherence_median": r.coherence, "band_hz": list(r.band_hz),
                   "averages": r.n_averages, "crank_lines_hz": _round(r.lines_hz),
                   "excitation_ratio": (None if r.excitation_ratio != r.excitation_ratio
                                        else r.excitation_ratio)},
           "source_time_s": list(cal.t_span or ()),
           "truth_frequencies_hz": _round(st.truth_hz) or None}
    if st.truth_hz:
        out["error_vs_truth_percent"] = [round(100 * (a / b - 1), 4)
                                         for a, b in zip(r.frequencies_hz, st.truth_hz)]
    out["history"] = feed.store.counters() if feed.store is not None else None
    if args.json:
        emit(out)
    else:
        print(cal.message)
        print(f"model {cal.start_profile} {' / '.join(f'{f:.3f}' for f in start_hz)} Hz -> "
              f"{cal.profile} {' / '.join(f'{f:.3f}' for f in r.frequencies_hz)} Hz")
        print(f"k = [{', '.join(f'{v:.1f}' for v in r.stiffness_n_per_m)}] N/m, c = ["
              f"{', '.join(f'{v:.4f}' for v in r.damping_ns_per_m)}] N s/m")
        if st.truth_hz:
            print("truth " + " / ".join(f"{f:.3f}" for f in st.truth_hz) + " Hz")
        if cal.saved:
            print(f"saved as profile {cal.profile!r}: start on it with --profile {cal.profile}")
    return 0


def register(add) -> None:
    c = add("calibrate", cmd_calibrate, "calibrate the twin's model from a source's data "
            "(table-to-floor FRFs, H1 + coherence; storey stiffness and damping fitted)")
    c.add_argument("--source", default="sim", help="as for monitor: sim, mqtt://..., "
                   "serial://..., replay:PATH")
    c.add_argument("--seconds", type=number(5.0, HOUR_S), default=60.0,
                   help="data to collect (s of source time, 5..3600; 60-90 s is typical)")
    c.add_argument("--save-as", default="", metavar="NAME",
                   help="save the calibrated model as this profile (default: not saved)")
    c.add_argument("--fit-mass", action="store_true",
                   help="fit the floor masses' distribution too (total held)")
    c.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    profile_option(c)
    store_option(c)
