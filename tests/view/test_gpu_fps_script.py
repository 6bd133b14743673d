"""The prepared GPU frame-rate step (bench/gpu_fps.py): it measures only on a graphics card, so
here, on software GL, it must say so and measure nothing; its measuring child must still run
(at a small size), so that a session lent a GPU can run `twin3d bench --only gpu` as it is."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # two Ursina subprocesses


def test_on_software_gl_the_step_measures_nothing_and_says_why(capsys):
    from twin3d.bench.gpu_fps import bench_gpu
    from twin3d.view.engine import SOFTWARE_GL

    assert bench_gpu(1, 2) == []
    said = capsys.readouterr().err  # stdout is kept for `bench --json`
    assert "not measured" in said and any(s in said.lower() for s in SOFTWARE_GL)


def test_its_measuring_child_times_mono_and_stereo_frames():
    from twin3d.bench import scene_child

    m = scene_child("twin3d.bench.gpu_fps", "_child(320, 180, 2, 4)", "gpu fps child")
    assert m["mono"] > 0 and m["side-by-side"] > 0
