"""The channel map and units: parsing, calibration, SI conversion, roles against a scene."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.formats import ChannelMap, FormatError, TimeSeries, to_si
from twin3d.formats.units import G0, canonical, role_unit


def _series(units=("g", "V", "kN")) -> TimeSeries:
    data = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    return TimeSeries(100.0, 0.0, ("a", "b", "c"), units, data, "file.csv")


def test_spellings_of_units_convert_to_si():
    assert canonical("m/s2") == canonical("m/s²") == canonical("(m/s^2)") == "m/s^2"
    assert to_si("g") == ("m/s^2", G0)
    assert to_si("kN") == ("N", 1e3)
    assert to_si("lbf")[1] == pytest.approx(4.4482216152605)
    assert to_si("(m/s^2)/N") == ("m/s^2/N", 1.0)
    assert to_si("furlongs") == ("furlongs", 1.0)  # unknown: kept, factor 1
    assert role_unit("acc_floor3") == "m/s^2" and role_unit("force_base") == "N"
    assert role_unit("motor_speed") is None


def test_map_selects_renames_calibrates_and_converts():
    cmap = ChannelMap.parse("a=acc_table, 2=force_floor2*-2, b=acc_floor1*0.5:m/s^2")
    assert cmap.roles == ("acc_table", "force_floor2", "acc_floor1")
    out = cmap.apply(_series())
    assert out.names == ("acc_table", "force_floor2", "acc_floor1")
    assert out.units == ("m/s^2", "N", "m/s^2")
    # g -> m/s^2; kN x -2 (a gauge mounted the other way) -> N; V x 0.5 declared m/s^2
    np.testing.assert_allclose(out.data[:, 0], [G0, -G0])
    np.testing.assert_allclose(out.data[:, 1], [-6000.0, 0.0])
    np.testing.assert_allclose(out.data[:, 2], [1.0, 0.25])


def test_a_column_name_wins_over_an_index():
    ts = TimeSeries(10.0, 0.0, ("1", "0"), ("N", "N"), np.array([[5.0, 7.0], [6, 8]]), "f")
    assert ChannelMap.parse("0=force_base").apply(ts).data[0, 0] == 7.0


@pytest.mark.parametrize("text, words", [
    ("", "no columns mapped"),
    ("acc_table", "not col=role"),
    ("0=acc table", "not a sensor name"),
    ("0=acc_table*zero", "not a number"),
    ("0=acc_table*0", "not 0"),
    ("0=acc_table*nan", "finite"),
    ("0=acc_table:furlongs", "furlongs"),
    ("0=acc_table,1=acc_table", "mapped twice"),
])
def test_a_bad_map_is_one_line_naming_the_part(text, words):
    with pytest.raises(FormatError) as e:
        ChannelMap.parse(text)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith("--map: ")


def test_a_missing_column_names_the_file_and_lists_its_columns():
    with pytest.raises(FormatError) as e:
        ChannelMap.parse("x=acc_table").apply(_series())
    msg = str(e.value)
    assert msg.startswith("file.csv: map: column 'x'") and "0=a, 1=b, 2=c" in msg


@pytest.mark.parametrize("text, words", [
    ("c=acc_floor1", "'kN' does not match role acc_floor1"),  # a force column as a floor
    ("a=force_floor1", "'g' does not match role force_floor1"),
    ("b=acc_floor1", "'V' does not match"),  # volts need a factor and a unit
    ("a=acc_floor1:N", "'N' does not match"),
])
def test_units_that_do_not_fit_the_role_are_refused(text, words):
    with pytest.raises(FormatError, match=words):
        ChannelMap.parse(text).apply(_series())


def test_roles_are_checked_against_the_scene_sensors():
    sensors = {"acc_table": "m/s^2", "acc_floor1": "m/s^2", "force_floor5": "N",
               "motor_speed": "rpm"}
    ChannelMap.parse("0=acc_table,1=force_floor5,2=motor_speed").check_roles(sensors, "s")
    with pytest.raises(FormatError) as e:
        ChannelMap.parse("0=force_floor3").check_roles(sensors, "five")
    assert "force_floor3: not a sensor of scene five" in str(e.value)
    assert "acc_floor1, acc_table, force_floor5, motor_speed" in str(e.value)
    with pytest.raises(FormatError, match="measures it in 'N'"):
        ChannelMap.parse("0=acc_floor1").check_roles({"acc_floor1": "N"}, "odd")
