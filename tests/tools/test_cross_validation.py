"""cross_validation: peaks of the four prototypes' FRFs against TOOLS.md 5.4, missing and
malformed files, and the comparison metrics."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from twin3d import tools
from twin3d.cli.main import main
from twin3d.tools._frf_files import asset
from twin3d.physics.structure import modal_analysis
from twin3d.scenefile.records import load_scene
from twin3d.tools import cross_validation as cv

# TOOLS.md 5.4 / 14 (floor 1)
REF = {
    "experimental/southampton": [6.500, 17.469, 26.500],
    "experimental/swansea": [7.000, 19.375, 29.125],
    "numerical/southampton": [6.319, 17.938, 26.508],
    "numerical/swansea": [7.072, 19.759, 28.728],
    "numerical/sheffield": [7.972, 20.659, 29.628],
    "numerical/bristol": [6.7, 18.6, 26.5],
}


@pytest.fixture(scope="module")
def example():
    return tools.run(cv, tools.example_inputs(cv), tools.Context(scene=load_scene()))


def test_example_through_the_cli_matches_the_reference_peaks(capsys):
    sets = [f"{k}={json.dumps(v)}" for k, v in cv.EXAMPLE.items()]
    assert main(["tool", "cross_validation", "--json"] + sum([["--set", s] for s in sets], [])) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    for key, ref in REF.items():
        np.testing.assert_allclose(r["peaks_hz"][key], ref, atol=1.5e-3, err_msg=key)
    # floor 2 of the 5-column files uses its own frequency axis
    np.testing.assert_allclose(r["peaks_by_floor_hz"]["numerical/swansea"][1],
                               [7.370, 19.570, 28.568], atol=1.5e-3)
    assert len(r["missing"]) == 2
    assert any("ExpDataSh.csv" in m for m in r["missing"])
    assert any("ExpDataBr.csv" in m for m in r["missing"])


def test_model_peaks_flags_and_metrics(example):
    r = example
    name = load_scene().data.model.active
    ref = modal_analysis(load_scene().model()).frequencies_hz
    np.testing.assert_allclose(r.peaks_hz[f"model/{name}"], ref, atol=0.03)
    assert any("numerical/bristol" in f and "NumDataSo.csv" in f for f in r.flags)  # bug 13.7
    assert any(f.startswith("numerical/sheffield") and "+0.900 Hz" in f for f in r.flags)
    e = r.frequency_errors["numerical/southampton vs experimental/southampton"]
    np.testing.assert_allclose(e, np.array(REF["numerical/southampton"])
                               / REF["experimental/southampton"] - 1, atol=3e-4)
    # spread of the two measured prototypes: Swansea sits ~0.5 / 1.9 / 2.6 Hz above
    np.testing.assert_allclose(r.spread["experimental"]["range_hz"], [0.5, 1.906, 2.625],
                               atol=2e-3)
    assert r.spread["numerical"]["prototypes"] == 4
    for v in r.frac.values():
        assert np.all((v >= 0) & (v <= 1))
    assert len(cv.plots(r)) >= 4 and all(p.x.size == r.frequency_hz.size for p in cv.plots(r))


def test_frac_is_one_for_identical_curves_and_drops_with_a_shift():
    f = np.linspace(3, 40, 3000)
    db = -20 * np.log10(np.abs(1 - (f / 10) ** 2 + 0.01j))
    assert cv._frac(db, db) == pytest.approx(1.0)
    assert cv._frac(db, db + 6) == pytest.approx(1.0)  # scale-free
    shifted = -20 * np.log10(np.abs(1 - (f / 10.5) ** 2 + 0.01j))
    assert cv._frac(db, shifted) < 0.2


def test_partial_folder_reports_missing_and_malformed_files(tmp_path):
    src = asset("dtLib/crossval/Data")
    (tmp_path / "Experimental Data").mkdir()
    (tmp_path / "Numerical Data").mkdir()
    shutil.copy(src / "Experimental Data" / "ExpDataSw.csv", tmp_path / "Experimental Data")
    (tmp_path / "Numerical Data" / "NumDataSw.csv").write_text("1,2,3,4\n2,x,3,4\n3,1,1,1\n")
    inputs = tools.make_inputs(cv, {"data_folder": str(tmp_path)})
    r = cv.run(inputs, tools.Context(scene=load_scene()))
    assert r.loaded == ["experimental/swansea"]
    assert len(r.missing) == 7
    assert any("NumDataSw.csv:line 2: not a number (got 'x')" in m for m in r.missing)
    assert "model/" + load_scene().data.model.active + " vs experimental/swansea" in r.frac


def test_missing_folder_is_one_line(capsys, tmp_path):
    assert main(["tool", "cross_validation", "--set",
                 f"data_folder={json.dumps(str(tmp_path / 'nope'))}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "data_folder: no such folder" in err
