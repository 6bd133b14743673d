"""fe_modal: FE frame modes, the real CalculiX cross-check, the no-ccx path, ABAQUS export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.tools._calculix import parse_dat
from twin3d.cli.main import main


def _run(capsys, *sets: str) -> dict:
    args = ["tool", "fe_modal", "--json"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)["results"]


def test_example_agrees_with_calculix_within_1_percent_and_tools_md(capsys):
    # Cristallo's SI values (TOOLS.md 6.2): 1.015e7 psi and 2.5265e-4 slinch/in^3
    r = _run(capsys, "elements_per_leg=4", "youngs_modulus_pa=69982e6",
             "density_kg_m3=2700.05", "convergence_max=4")
    assert r["floor_mass_kg"] == pytest.approx(5.3095, abs=1e-4)
    assert r["storey_stiffness_n_per_m"] == pytest.approx(64292, abs=1)
    np.testing.assert_allclose(r["shear_building_hz"], [7.79, 21.84, 31.56], atol=0.006)
    fe = np.array(r["frequencies_hz"])
    assert fe.size == 3 and np.all(fe < r["shear_building_hz"])  # approached from below
    ccx = np.array(r["ccx_frequencies_hz"])  # ccx is installed here and in CI: it must run
    assert ccx.size == 3, r["ccx_message"]
    np.testing.assert_allclose(ccx, fe, rtol=0.01)
    conv = np.array(r["convergence_hz"])
    assert conv.shape == (3, 3)  # meshes 1, 2, 4
    np.testing.assert_allclose(conv[-1], fe, rtol=1e-12)


def test_clamp_spring_is_cross_checked_too(capsys):
    r = _run(capsys, "clamp_stiffness_n_m_per_rad=300", "convergence_max=1")
    ccx = np.array(r["ccx_frequencies_hz"])
    assert ccx.size == 3, r["ccx_message"]
    np.testing.assert_allclose(ccx, r["frequencies_hz"], rtol=0.01)
    assert r["frequencies_hz"][0] < 0.85 * r["shear_building_hz"][0]  # a soft clamp shows


def test_without_ccx_the_result_says_why(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    r = _run(capsys, "convergence_max=1")
    assert r["ccx_frequencies_hz"] == []
    assert "not on PATH" in r["ccx_message"]
    assert len(r["frequencies_hz"]) == 3


def test_abaqus_export_and_bad_inputs(capsys, tmp_path):
    out = tmp_path / "deck" / "frame.inp"
    r = _run(capsys, f'export_abaqus="{out}"', "calculix=false", "convergence_max=1")
    text = out.read_text()
    assert r["abaqus_path"] == str(out)
    assert "*FREQUENCY, EIGENSOLVER=LANCZOS" in text and "TYPE=B31" in text
    assert text.count("*RIGID BODY") == 5  # three floors, two base blocks
    assert main(["tool", "fe_modal", "--set", f'export_abaqus="{tmp_path}/x.txt"']) == 2
    assert "export_abaqus" in capsys.readouterr().err
    assert main(["tool", "fe_modal", "--set", "elements_per_leg=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "elements_per_leg" in err


def test_parse_dat_reads_the_eigenvalue_table():
    text = """
     E I G E N V A L U E   O U T P U T

 MODE NO    EIGENVALUE                       FREQUENCY
                                     REAL PART            IMAGINARY PART
                           (RAD/TIME)      (CYCLES/TIME     (RAD/TIME)

      1   0.2283026E+04   0.4778102E+02   0.7604657E+01   0.0000000E+00
      2   0.1498651E+05   0.1224194E+03   0.1948342E+02   0.0000000E+00

     P A R T I C I P A T I O N   F A C T O R S

MODE NO.   X-COMPONENT     Y-COMPONENT     Z-COMPONENT     X-ROTATION      Y-ROTATION      Z-ROTATION

      1   0.4050480E+01  -0.5800610E-07  -0.1436174E-09   0.2691516E-07   0.1652174E+01  -0.4E-08
      2   0.3687734E-05  -0.3602049E+01  -0.9174292E-08   0.1631276E+01  -0.5354887E-07   0.3E-08
"""
    f, part = parse_dat(text)
    np.testing.assert_allclose(f, [7.604657, 19.48342])
    from twin3d.tools._calculix import in_plane
    assert in_plane(part).tolist() == [True, False]  # mode 2 sways out of the plane
    with pytest.raises(ValueError):
        parse_dat("nothing here")
