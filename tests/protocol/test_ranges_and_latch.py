"""The protocol's single declarations that the panel, the simulated rig and the interlocks
share: an argument's allowed range (`arg_range`, `check_arg`) and the safety latch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from twin3d.protocol.commands import (CommandError, arg_range, check_arg, check_args,
                                      limit_values)
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


def test_latch_admits_only_reset_and_estop_until_released():
    latch = Latch()
    assert not latch.latched and latch.state == OK
    assert all(latch.admits(op) is None for op in ("set_speed", "stop", "estop", "reset"))
    latch.engage("e-stop by alice")
    assert latch.latched and latch.state == ESTOP and latch.reason == "e-stop by alice"
    assert latch.admits("set_speed") == "estop latched (e-stop by alice): send reset first"
    assert latch.admits("stop") and latch.admits("set_stroke")
    assert latch.admits("reset") is None and latch.admits("estop") is None
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
