"""The protocol's single declarations that the panel, the simulated rig and the interlocks
share: an argument's allowed range (`arg_range`, `check_arg`) and the safety latch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from twin3d.protocol.commands import (CommandError, arg_range, check_arg, check_args,
                                      decode_command, limit_values, make_command,
                                      next_counter)
from twin3d.protocol.latch import ESTOP, OK, TRIPPED, Latch
from twin3d.scenefile.records import load_scene


@pytest.fixture(scope="module")
def limits():
    return load_scene("three_storey").data.limits


def test_arg_range_reads_the_declared_bounds_from_limits_or_their_values(limits):
    top = limits.max_speed_rpm
    assert arg_range("set_speed", "rpm", limits) == (0.0, top)
    assert arg_range("set_speed", "rpm", limit_values(limits, 3)) == (0.0, top)
    assert arg_range("set_speed", "rpm") == (0.0, None)  # named bounds need limits
    assert arg_range("set_control", "floor", limits, 3) == (1, 3)
    assert arg_range("set_stroke", "stroke_m", limits) == tuple(limits.stroke_range_m)
    # a record with only the field asked for is enough (the motor panel's test double)
    assert arg_range("set_speed", "rpm", SimpleNamespace(max_speed_rpm=1800.0)) == (0, 1800)


def test_check_arg_words_the_refusal_with_the_declared_range(limits):
    top = limits.max_speed_rpm
    assert check_arg("set_speed", "rpm", top, limits) is None
    assert check_arg("set_speed", "rpm", 0.0, limits) is None
    assert check_arg("set_speed", "rpm", top + 200, limits, what="speed") == \
        f"speed {top + 200:g} rpm outside 0..{top:g} rpm"
    assert check_arg("set_speed", "rpm", -5, limits, what="start speed") == \
        f"start speed -5 rpm outside 0..{top:g} rpm"
    assert check_arg("set_speed", "rpm", float("nan"), limits) is not None
    assert "not >= 0" in check_arg("set_speed", "ramp_rpm_per_s", -1.0, limits)
    assert check_arg("set_control", "strategy", "pid") == "strategy 'pid' not one of off | dvf"


def test_the_wire_check_and_check_arg_agree(limits):
    lims = limit_values(limits, 3)
    for rpm in (-1.0, 0.0, 100.0, limits.max_speed_rpm, limits.max_speed_rpm + 1):
        refused = check_arg("set_speed", "rpm", rpm, limits) is not None
        try:
            check_args("set_speed", {"rpm": rpm}, lims)
            wire_refused = False
        except CommandError:
            wire_refused = True
        assert refused == wire_refused, rpm


def test_latch_admits_only_what_makes_the_rig_safer_until_released():
    latch = Latch()
    assert not latch.latched and latch.state == OK
    assert all(latch.admits(op) is None for op in ("set_speed", "stop", "estop", "reset"))
    latch.engage("e-stop by alice")
    assert latch.latched and latch.state == ESTOP and latch.reason == "e-stop by alice"
    assert latch.admits("set_speed") == "estop latched (e-stop by alice): send reset first"
    assert latch.admits("set_stroke") and latch.admits("start_recording")
    assert latch.admits("reset") is None and latch.admits("estop") is None
    # a latched rig stays recoverable: stop the motor, switch the controller off
    assert latch.admits("stop") is None
    assert latch.admits("set_control", {"strategy": "off"}) is None
    assert latch.admits("set_control", {"strategy": "off", "floor": 1}) is None
    assert latch.admits("set_control", {"strategy": "dvf", "gain": 1.0}) == latch.admits(
        "set_speed")
    assert latch.admits("set_control") and latch.admits("set_control", None)
    latch.engage("drift", TRIPPED)  # re-latched as another kind
    assert latch.admits("set_speed") == "tripped latched (drift): send reset first"
    assert latch.release() == TRIPPED
    assert not latch.latched and latch.reason == "" and latch.admits("set_speed") is None
    with pytest.raises(ValueError):
        latch.engage("no", OK)


def test_latch_refusal_is_worded_by_its_holder():
    panel = Latch("e-stop latched: press Reset first")
    panel.engage("E-STOP pressed")
    assert panel.admits("set_speed") == "e-stop latched: press Reset first"
    bare = Latch()
    bare.engage()
    assert bare.admits("set_speed") == "estop latched: send reset first"


# ---- the command counter `n` ------------------------------------------------------------------

def test_counter_strictly_increases_and_follows_the_wall_clock():
    import time

    ns = [next_counter() for _ in range(1000)]
    assert all(b > a for a, b in zip(ns, ns[1:]))
    assert abs(ns[-1] - time.time_ns()) < 10**9 + 1000
    a, b = make_command("stop", user="a"), make_command("stop", user="a")
    assert b.n > a.n > ns[-1]
    assert make_command("stop", user="a", n=7).n == 7


def test_decode_requires_the_counter(limits):
    lims = limit_values(limits, 3)
    c = make_command("stop", user="a")
    assert decode_command(c.to_json(), lims) == c and '"n":' in c.to_json()
    base = '{"id": "x", "op": "stop", "user": "a", "sent": 1'
    for tail, needle in (("}", "n: must be the sender's command counter"),
                         (', "n": null}', "n: must be"), (', "n": 1.5}', "got 1.5"),
                         (', "n": "5"}', "n: must be"), (', "n": true}', "n: must be"),
                         (', "n": 0}', "allowed 1.."), (f', "n": {2**63}}}', "allowed 1..")):
        with pytest.raises(CommandError) as e:
            decode_command(base + tail, lims)
        assert needle in str(e.value), tail
    assert decode_command(base + ', "n": 5}', lims).n == 5
