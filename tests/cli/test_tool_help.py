"""`twin3d tool NAME --help` lists every input of every tool with its unit, allowed range and
default, as the tool declares them (schema.spec); an unknown tool's --help is one line, exit 2."""

from __future__ import annotations

import re

import pytest

from twin3d import tools
from twin3d.cli.main import main
from twin3d.scenefile.schema import describe


def _help(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def _as_declared(value):
    return [_as_declared(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("name", sorted(tools.discover()))
def test_help_lists_every_input_with_unit_range_and_default(capsys, name):
    code, out, err = _help(capsys, "tool", name, "--help")
    assert code == 0 and err == ""
    mod = tools.get(name)
    assert out.startswith(f"twin3d tool {name}: {mod.SUMMARY}")
    fields = describe(mod.Inputs)
    assert fields
    for f in fields:
        line = next((ln for ln in out.splitlines() if re.match(rf"  {f['name']}\s", ln)), None)
        assert line is not None, f"{name}: input {f['name']} not listed"
        if f["allowed"]:
            assert f"allowed {f['allowed']}," in line  # the range carries the unit
        elif f["unit"]:
            assert f"[{f['unit']}]" in line
        # the default is shown as a literal that --set reads back to the declared value
        shown = line.rsplit(", default ", 1)[1]
        assert _as_declared(tools.parse_value(shown)) == _as_declared(f["default"]), line
        if f["doc"]:
            assert f["doc"].split()[0] in out


def test_help_names_the_range_a_tool_refuses(capsys):
    """The range printed is the one the tool enforces: a value outside it is refused."""
    _, out, _ = _help(capsys, "tool", "fe_modal", "--help")
    assert re.search(r"^  f_max_hz\s+float, allowed 1\.\.2000 Hz, default 40\.0$", out, re.M)
    assert main(["tool", "fe_modal", "--set", "f_max_hz=2001"]) == 2
    assert "allowed 1..2000 Hz" in capsys.readouterr().err


def test_unknown_tool_help_is_one_line_exit_2(capsys):
    assert main(["tool", "no_such_tool", "--help"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "no such tool" in err and "'no_such_tool'" in err and "fe_modal" in err


def test_help_without_a_tool_is_the_commands_help(capsys):
    code, out, _ = _help(capsys, "tool", "--help")
    assert code == 0 and "usage: twin3d tool" in out and "`twin3d tool list`" in out
