"""The compile progress line (twin3d.cli.warmup_cmds) on real numba events: tiny kernels compiled
here (no cache) stand in for the physics ones; the empty-cache run of the real kernels is
bench/first_start.py's, checked in tests/cli/test_bench.py."""

from __future__ import annotations

import io
import json

import numba
import numpy as np
from numba.core import event

from twin3d.cli.main import main
from twin3d.cli.warmup_cmds import LINE, compile_progress
from twin3d.physics import WARMUP_EVENT


def _kernel(offset: float):
    """A fresh njit kernel that claims to live in twin3d (the line names only our kernels)."""
    def kernel(x):
        return x + offset
    kernel.__module__ = "twin3d.physics.stand_in"
    return numba.njit(kernel)


def _warm(steps, stream, tty=False):
    """physics.warmup's protocol: each step announced as a WARMUP_EVENT around its call."""
    with compile_progress("demo", stream) as progress:
        progress.tty = tty
        for i, (name, call) in enumerate(steps):
            with event.trigger_event(WARMUP_EVENT, data={"step": name, "index": i,
                                                         "of": len(steps)}):
                call()
    return progress


class _Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_compiles_show_one_line_and_a_summary_in_a_log():
    out = _Stream()
    a, b = _kernel(1.0), _kernel(2.0)
    progress = _warm([("first", lambda: a(1.0)), ("second", lambda: b(np.ones(2))),
                      ("third", lambda: a(2.0))], out)  # third: already compiled
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == f"{LINE}: 1/3 first: kernel ..."
    assert lines[1].startswith("compiled 2 physics kernels in ")
    assert progress.compiled == ["kernel", "kernel"]


def test_on_a_terminal_the_line_is_rewritten_in_place():
    out = _Stream()
    c, d = _kernel(3.0), _kernel(4.0)
    _warm([("one", lambda: c(1.0)), ("two", lambda: d(1.0))], out, tty=True)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, finished once
    assert text.count("\r") >= 3  # rewritten: step 1, step 2, the summary
    assert f"{LINE}: 2/2 two: kernel" in text and "compiled 2 physics kernels" in text


def test_nothing_is_shown_when_everything_is_already_compiled():
    e = _kernel(5.0)
    e(1.0)  # compiled before the warm-up: like a kernel loaded from the cache
    out = _Stream()
    progress = _warm([("cached", lambda: e(2.0))], out)
    assert out.getvalue() == "" and progress.compiled == []


def test_a_lazy_compile_outside_a_warm_up_closes_its_own_line():
    out = _Stream()
    f = _kernel(6.0)
    with compile_progress("monitor", out):
        f(1.0)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{LINE}: kernel ..." and lines[1].startswith("compiled 1 physics kernel ")


def test_commands_that_run_no_kernels_get_no_listener():
    before = len(event._registered["numba:compile"])
    with compile_progress("tool", _Stream()) as progress:
        assert progress is None and len(event._registered["numba:compile"]) == before


def test_warmup_command_reports_what_it_compiled(capsys):
    """In this process every start-up kernel is either loaded (the cache .ci/setup filled) or
    compiled: the count is the listener's, and a second run finds them all in memory."""
    assert main(["warmup", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["seconds"] > 0 and first["compiled"] >= 0
    assert main(["warmup", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compiled"] == 0


def test_warmup_bad_option_is_one_line(capsys):
    assert main(["warmup", "--bogus"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
