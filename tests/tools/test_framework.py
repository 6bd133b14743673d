"""The tool framework: discovery, validated inputs, JSON output, and the CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d import tools
from twin3d.cli.main import main
from twin3d.physics.structure import modal_analysis
from twin3d.scenefile.records import load_scene
from twin3d.scenefile.schema import SchemaError


def test_every_tool_declares_the_contract_and_its_example_validates():
    found = tools.discover()
    assert "modes" in found
    for name, mod in found.items():
        for attr in tools.REQUIRED:
            assert hasattr(mod, attr), f"{name} lacks {attr}"
        tools.example_inputs(mod)  # raises on a bad example


def test_set_values_parse_as_toml_literals():
    assert tools.parse_value("3") == 3
    assert tools.parse_value("2.5e-3") == 2.5e-3
    assert tools.parse_value("[1, 2]") == [1, 2]
    assert tools.parse_value("true") is True
    assert tools.parse_value("dvf") == "dvf"


def test_out_of_range_unknown_and_bad_profile_name_the_field():
    scene = load_scene()
    mod = tools.get("modes")
    with pytest.raises(SchemaError, match=r"frf_floor: out of range \(got 0, allowed 1\.\.20\)"):
        tools.make_inputs(mod, {"frf_floor": 0}, scene=scene)
    with pytest.raises(SchemaError, match="unknown key"):
        tools.make_inputs(mod, {"nope": 1}, scene=scene)
    with pytest.raises(SchemaError, match="no such profile"):
        tools.make_inputs(mod, {"profile": "swansea_typo"}, scene=scene)
    with pytest.raises(SchemaError, match="no such tool"):
        tools.get("not_a_tool")


def test_inputs_file_then_set_overrides(tmp_path):
    f = tmp_path / "in.toml"
    f.write_text('profile = "soton_beam"\nfrf_floor = 2\n')
    inputs = tools.make_inputs(tools.get("modes"), {"frf_floor": 3}, f, load_scene())
    assert (inputs.profile, inputs.frf_floor) == ("soton_beam", 3)
    f.write_text("frf_floor = [")
    with pytest.raises(SchemaError, match="not valid TOML"):
        tools.make_inputs(tools.get("modes"), {}, f)


def test_modes_tool_matches_modal_analysis_and_peaks_at_mode_1(capsys):
    assert main(["tool", "modes", "--set", "profile=soton_beam", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = modal_analysis(load_scene().model("soton_beam"))
    np.testing.assert_allclose(out["results"]["frequencies_hz"], ref.frequencies_hz, rtol=1e-12)
    f = np.array(out["results"]["frequency_hz"])
    db = np.array(out["results"]["frf_db"])
    assert abs(f[np.argmax(db)] - ref.frequencies_hz[0]) < 0.1  # floor 1's FRF peaks at mode 1
    assert out["inputs"]["profile"] == "soton_beam"


def test_cli_rejects_bad_input_with_one_line_and_exit_2(capsys):
    assert main(["tool", "modes", "--set", "f_max_hz=-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "f_max_hz" in err and "-1" in err and "1..1000 Hz" in err
    assert main(["tool", "modes", "--set", "noequals"]) == 2


def test_tool_list_json_lists_inputs_with_units_and_ranges(capsys):
    assert main(["tool", "list", "--json"]) == 0
    listing = {t["name"]: t for t in json.loads(capsys.readouterr().out)["tools"]}
    f_max = next(i for i in listing["modes"]["inputs"] if i["name"] == "f_max_hz")
    assert f_max["unit"] == "Hz" and f_max["allowed"] == "1..1000 Hz" and f_max["default"] == 40.0
