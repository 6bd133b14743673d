"""The kiosk's QR code of the browser view's URL: the matrix is segno's, the mesh covers exactly
its dark modules, and drawn offscreen by the kiosk (env TWIN3D_WEB_URL) its pixels read back
as the same matrix."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from twin3d.view.qr_badge import module_quads, qr_modules

URL = "http://192.168.10.20:8080/?token=tour-2026"


def test_the_matrix_is_segnos_with_a_quiet_zone():
    import segno

    m = qr_modules(URL, border=2)
    ref = np.array(segno.make(URL, error="m").matrix, dtype=bool)
    assert m.shape == (ref.shape[0] + 4,) * 2
    assert (m[2:-2, 2:-2] == ref).all() and not m[:2].any() and not m[:, -2:].any()
    # the three finder patterns: 7x7 dark rings at three corners
    for r, c in ((2, 2), (2, m.shape[1] - 9), (m.shape[0] - 9, 2)):
        assert m[r, c:c + 7].all() and m[r + 6, c:c + 7].all() and m[r + 2:r + 5, c + 2:c + 5].all()


def test_the_quads_cover_exactly_the_dark_modules():
    m = qr_modules(URL)
    n = m.shape[0]
    verts, tris = module_quads(m, size=float(n))  # one unit per module
    grid = np.zeros_like(m)
    v = np.array(verts)
    for a, b, c in tris[::2]:  # each quad's first triangle spans its corners
        xs, ys = v[[a, b, c], 0], v[[a, b, c], 1]
        r0, r1 = int(round(-ys.max())), int(round(-ys.min()))
        c0, c1 = int(round(xs.min())), int(round(xs.max()))
        assert not grid[r0:r1, c0:c1].any()  # no overlap
        grid[r0:r1, c0:c1] = True
    assert (grid == m).all()


SCRIPT = r"""
import json, os
import numpy as np
from twin3d.view import engine
engine.start("offscreen", (960, 720))
from ursina import application
from twin3d.view.qr_badge import QrBadge
b = QrBadge(os.environ["TWIN3D_WEB_URL"], position=(-0.6, 0.45), size=0.6)
for _ in range(3):
    application.base.taskMgr.step()
img = engine.pixels()
h, w, _ = img.shape
aspect = w / h
n = b.modules.shape[0]
cell = b.size / n
read = []
for r in range(n):
    row = []
    for c in range(n):
        x = b.position[0] + (c + 0.5) * cell
        y = b.position[1] - (r + 0.5) * cell
        px, py = int((x + aspect / 2) / aspect * w), int((0.5 - y) * h)
        row.append(bool(img[py, px].mean() < 128))
    read.append(row)
print("QR-FACTS " + json.dumps({"read": read, "modules": b.modules.tolist()}))
"""


@pytest.mark.slow
def test_drawn_offscreen_the_code_reads_back():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(EGL_PLATFORM="surfaceless", TWIN3D_WEB_URL=URL)
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       env=env, timeout=180)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("QR-FACTS ")]
    assert r.returncode == 0 and line, r.stderr[-2000:]
    facts = json.loads(line[-1][len("QR-FACTS "):])
    assert facts["read"] == facts["modules"]


KIOSK = r"""
import json
from twin3d.live.feeds import SimFeed
from twin3d.scenefile.records import load_scene
from twin3d.view.app import TwinApp
from twin3d.view.kiosk import tour
scene = load_scene("three_storey")
app = TwinApp(scene, SimFeed(scene), "offscreen", (640, 360), panels=False, kiosk=True)
app.start_tour(tour(scene))
app.step(2)
badge = app.tour.qr_badge
print("QR-FACTS " + json.dumps({"url": badge.url if badge else None}))
"""


@pytest.mark.slow
def test_the_kiosk_shows_the_code_when_given_the_url(url=URL):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(EGL_PLATFORM="surfaceless", TWIN3D_WEB_URL=url)
    r = subprocess.run([sys.executable, "-c", KIOSK], capture_output=True, text=True, env=env,
                       timeout=180)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("QR-FACTS ")]
    assert r.returncode == 0 and line, r.stderr[-2000:]
    assert json.loads(line[-1][len("QR-FACTS "):])["url"] == url
