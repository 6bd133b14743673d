"""continuation tool: the default session against TOOLS.md 4.9 through the CLI, and input
errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.cli.main import main
from twin3d.tools import continuation as tool


@pytest.fixture(scope="module")
def session():
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["tool", "continuation", "--json"]
                    + sum([["--set", f"{k}={json.dumps(v)}"] for k, v in tool.EXAMPLE.items()],
                          [])) == 0
    return json.loads(buf.getvalue())["results"]


def test_linear_frequencies_and_frequency_sweep(session):
    r = session
    np.testing.assert_allclose(r["linear_frequencies_rad_s"], [14.073, 39.433, 56.982], atol=1e-3)
    up = np.array(r["sweep_up_amplitude_m"])
    w = np.array(r["sweep_up_omega"])
    i = int(np.argmax(up[:, 0]))
    # Cristallo samples 50 points per period, we every RK4 step: its peak reads a little lower
    assert w[i] == pytest.approx(15.774, abs=1e-3)
    assert up[i, 0] == pytest.approx(0.9580, rel=6e-3)
    np.testing.assert_allclose(up[-1], [0.009951, 0.046537, 0.031593], rtol=2e-3)
    down = np.array(r["sweep_down_amplitude_m"])
    j = int(np.argmax(down[:, 0]))
    assert r["sweep_down_omega"][j] == pytest.approx(14.543, abs=1e-3)
    assert down[j, 0] == pytest.approx(0.7772, rel=3e-3)


def test_amplitude_sweep_jumps_and_cbc(session):
    r = session
    np.testing.assert_allclose(r["jumps_n"]["up"], [55.692, 57.718], atol=1e-3)
    np.testing.assert_allclose(r["jumps_n"]["down"], [11.128, 9.103], atol=1e-3)
    np.testing.assert_allclose(r["amp_up_amplitude_m"][0], [0.0083337, 0.018870, 0.024943],
                               rtol=0.03)  # carried transient from the frequency sweep
    f = np.array(r["cbc_force_n"])
    a = np.array(r["cbc_amplitude_m"])
    assert f.size == 101
    np.testing.assert_allclose(f[:2], [1.0, 1.397], atol=1e-3)
    np.testing.assert_allclose(a[:2, 0], [0.007840, 0.008682], rtol=0.03)
    assert r["cbc_folds_n"][0] == pytest.approx(57.19, rel=0.01)


def test_reference_folds_and_stability(session):
    r = session
    folds = r["folds_n"]
    assert len(folds) == 2
    assert folds[0] == pytest.approx(57.19, rel=5e-3)
    assert 9.10 < folds[1] < 13.16  # where the amplitude sweep down leaves the upper branch
    st = np.array(r["branch_stable"])
    assert st[0] and st[-1] and not st.all()
    assert np.all(np.array(r["branch_floquet_max"])[~st] > 1)
    assert any("fold 2" in d for d in r["differences"])  # CBC's lower fold is reported apart
    assert [p.title for p in tool.plots(_as_result(r))][:2] == [
        "frequency sweep (open loop)", "amplitude sweep (open loop)"]


def _as_result(r):
    import dataclasses
    return tool.Result(**{f.name: (np.array(r[f.name]) if isinstance(r[f.name], list)
                                   and f.name != "differences" else r[f.name])
                          for f in dataclasses.fields(tool.Result)})


def test_profile_without_cubic_term_and_bad_lists_are_one_line(capsys):
    assert main(["tool", "continuation", "--set", "profile=southampton_identified"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cubic" in err
    assert main(["tool", "continuation", "--set", "mass_kg=[0.2, 0.2]"]) == 2
    assert "one value per storey" in capsys.readouterr().err
