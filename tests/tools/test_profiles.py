"""profiles: the store (JSON with units and provenance), the scene seeing saved profiles, and
the comparison tool (table, FRFs, one mode-shape convention)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.scenefile import profiles as profile_store
from twin3d.cli.main import main
from twin3d.physics.structure import frf, modal_analysis
from twin3d.scenefile.records import load_scene
from twin3d.scenefile.schema import SchemaError


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN3D_PROFILES_DIR", str(tmp_path / "profiles"))
    return tmp_path / "profiles"


def test_example_compares_three_profiles_against_independent_modal_analysis(capsys):
    args = ["tool", "profiles", "--json", "--set", "profile_a=southampton_identified",
            "--set", "profile_b=blueprint_beam", "--set", "profile_c=soton_beam"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    scene = load_scene()
    assert r["names"] == ["southampton_identified", "blueprint_beam", "soton_beam"]
    for p, name in enumerate(r["names"]):
        ref = modal_analysis(scene.model(name))
        np.testing.assert_allclose(r["frequencies_hz"][p], ref.frequencies_hz, rtol=1e-12)
        np.testing.assert_allclose(r["damping_ratios"][p], ref.damping_ratios, rtol=1e-12)
        for mode, shape in enumerate(r["shapes"][p]):
            v = ref.shapes[:, mode] / ref.shapes[np.argmax(np.abs(ref.shapes[:, mode])), mode]
            np.testing.assert_allclose(shape, v, atol=1e-12)  # same convention, no flips
            assert max(shape, key=abs) == pytest.approx(1.0)
    # TOOLS.md 6.4 / 1.3 / 7.1 figures
    np.testing.assert_allclose(r["frequencies_hz"][1], [7.79, 21.84, 31.56], atol=0.01)
    np.testing.assert_allclose(r["frequencies_hz"][2], [7.1137, 19.9321, 28.8028], atol=1e-3)
    np.testing.assert_allclose(r["frequencies_hz"][0], [6.2036, 17.8002, 26.4022], atol=1e-3)
    f = np.array(r["frequency_hz"])
    h = frf(scene.model("soton_beam"), f, excitation="base", output="accelerance")[:, 2]
    np.testing.assert_allclose(r["frf_db"][2], 20 * np.log10(np.abs(h)), rtol=1e-10)
    assert len(r["table"]) == 9 and r["table"][0]["profile"] == "southampton_identified"


def test_profiles_without_example_default_is_the_active_model(capsys):
    assert main(["tool", "profiles", "--json", "--set", "profile_b=soton_beam"]) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    assert r["names"] == ["southampton_identified", "soton_beam"]


def test_save_load_roundtrip_with_units_provenance_and_scene_sees_it(capsys, store):
    assert main(["tool", "profiles", "--json", "--set", "save_as=my_rig"]) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    doc = json.loads((store / "my_rig.json").read_text())
    assert r["saved_path"] == str(store / "my_rig.json")
    assert doc["format"] == "twin3d-profile" and doc["units"]["stiffness_n_per_m"] == "N/m"
    assert doc["provenance"]["from_profile"] == "southampton_identified"
    np.testing.assert_allclose(doc["stiffness_n_per_m"], [34958.3691, 43195.1237, 43295.9086])
    assert profile_store.list_saved() == ["my_rig"]
    assert "my_rig" not in load_scene().data.profiles  # reading a scene file reads only it
    scene = profile_store.with_saved_profiles(load_scene())
    assert "my_rig" in scene.data.profiles  # the user's scene sees it
    np.testing.assert_allclose(modal_analysis(scene.model("my_rig")).frequencies_hz,
                               [6.2036, 17.8002, 26.4022], atol=1e-3)
    assert main(["tool", "modes", "--json", "--set", "profile=my_rig"]) == 0


def test_bad_saved_profiles_give_one_line_errors_never_a_fallback(capsys, store):
    store.mkdir(parents=True)
    (store / "broken.json").write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        profile_store.load("broken")
    with pytest.raises(SchemaError, match="no such saved profile"):
        profile_store.load("missing")
    (store / "short.json").write_text(json.dumps({
        "format": "twin3d-profile", "kind": "chain", "units": profile_store.UNITS,
        "mass_kg": [5, 5, 5], "stiffness_n_per_m": [4e4, 4e4], "damping_ns_per_m": [1, 1, 1]}))
    with pytest.raises(SchemaError, match="stiffness_n_per_m: needs one value per storey"):
        profile_store.load("short")
    with pytest.raises(SchemaError, match="not a valid profile name"):
        profile_store.save("../evil", [1], [1], [1])
    assert "broken" not in load_scene().data.profiles  # left out of listings, no fallback
    assert main(["tool", "profiles", "--set", "profile_b=broken"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "profile_b" in err
    assert main(["tool", "profiles", "--set", "profile_a=blueprint_beam",
                 "--set", "save_as=x"]) == 2  # Rayleigh damping is not a chain
    assert "only a chain model" in capsys.readouterr().err


def test_plots_overlay_frfs_and_modes(capsys):
    from twin3d import tools
    mod = tools.get("profiles")
    res = tools.run(mod, tools.example_inputs(mod))
    ps = tools.plots(mod, res)
    assert ps[0].ylabel == "magnitude (dB)" and len(ps[0].ys) == 3
    assert [p.title for p in ps[1:]] == ["mode 1", "mode 2", "mode 3"]
    assert all(y[0] == 0.0 for p in ps[1:] for y in p.ys)  # the table does not move
