"""The simulated rig's real-time loop: `run_rig` steps a `RigCore` once per block, when the
block's last sample is due, and hands what it produced to a transport."""

from __future__ import annotations

import json
import signal
import time

from twin3d.rig.core import RigCore

STATE_EVERY_S = 0.25  # the state message goes out this often, and at once after any event


def run_rig(core: RigCore, transport, seconds: float | None = None,
            log=None, clock=time.time, sleep=time.sleep, stop=None) -> dict:
    """Run at real time until `seconds` of rig time have passed, or until `stop` (a
    threading.Event) is set, or SIGTERM/SIGINT when run on the main thread.

    Each block is computed and sent once its last sample's time has come, as an acquisition
    card would deliver it; the rig clock starts when the loop does."""
    import threading

    flag = threading.Event() if stop is None else stop
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, lambda signum, frame: flag.set()) if main else None
    block_s = core.block_samples / core.sim.sample_rate
    wall0 = clock()
    if core.seq == 0:
        core.start_ns = int(round(wall0 * 1e9)) - int(round(core.sim.t * 1e9))
    transport.start(core)
    core._audit("start", truth=core.truth, scene=core.scene.data.name)
    next_state = 0.0
    late = 0
    t_origin = core.sim.t
    try:
        while not flag.is_set() and (seconds is None or core.sim.t < seconds - 1e-9):
            lag = wall0 + (core.sim.t - t_origin) + block_s - clock()
            if lag > 0:
                if flag.wait(lag) if stop is not None else sleep(lag):
                    break
            elif lag < -block_s:
                late += 1
            now = clock()
            events = transport.poll(core, now)
            out = core.step(now)
            events += out.events
            state = None
            if events or now >= next_state:
                state = core.state(now)
                next_state = now + STATE_EVERY_S
            transport.send(core, out, events, state)
            if log:
                for e in events:
                    log(json.dumps(e.to_dict()))
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)
        now = clock()
        core._audit("stop", seconds=core.sim.t, blocks=core.seq)
        transport.close(core, now)
    return {"rig_id": core.rig_id, "seconds": core.sim.t, "blocks": core.seq,
            "late_blocks": late, "truth": core.truth,
            "truth_modes_hz": [float(f) for f in core.truth_hz],
            "counters": dict(vars(core.interlocks.counters)), "status": core.interlocks.status}
