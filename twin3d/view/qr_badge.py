"""A QR code on the kiosk's screen with the URL of the browser view (`twin3d serve`), so that
the audience can open the live twin on their phones. The QR matrix comes from segno; it is
drawn as one mesh (a dark quad per run of dark modules) on a white card with a quiet zone.

The kiosk shows it when env TWIN3D_WEB_URL holds the page's URL
(`TWIN3D_WEB_URL=http://HOST:8080/ twin3d demo --kiosk`; `twin3d serve` prints that line)."""

from __future__ import annotations

import numpy as np

WEB_URL_ENV = "TWIN3D_WEB_URL"
BORDER = 2  # quiet-zone modules around the code (phones read 2 fine on a white card)


def qr_modules(url: str, border: int = BORDER) -> np.ndarray:
    """The QR code of `url` as a (n, n) bool array, True = dark, top row first, with
    `border` light modules around it (error correction M: a screen seen at an angle)."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    return np.array([[bool(v) for v in row] for row in qr.matrix_iter(border=border)])


def module_quads(modules: np.ndarray, size: float) -> tuple[list, list]:
    """Vertices (x, y, 0) and triangles of one quad per horizontal run of dark modules, the
    code spanning `size` with its top-left corner at (0, 0) and y up."""
    n = modules.shape[0]
    cell = size / n
    verts, tris = [], []
    for r in range(n):
        row = np.concatenate(([False], modules[r], [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(row))
        for c0, c1 in zip(edges[::2], edges[1::2]):
            x0, x1, y0, y1 = c0 * cell, c1 * cell, -(r + 1) * cell, -r * cell
            k = len(verts)
            verts += [(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0)]
            tris += [(k, k + 1, k + 2), (k, k + 2, k + 3)]
    return verts, tris


class QrBadge:
    """The code on a white card at `position` (its top-left corner, UI units), and the URL under
    it; `size` is the card's width."""

    def __init__(self, url: str, position=(-0.86, -0.02), size: float = 0.22):
        from ursina import Entity, Mesh, Text, camera, color

        self.url = url
        self.modules = qr_modules(url)
        self.position, self.size = position, size
        x0, y0 = position
        self.card = Entity(parent=camera.ui, model="quad", origin=(-0.5, 0.5),
                           position=(x0, y0, 0.4), scale=(size, size), color=color.white)
        verts, tris = module_quads(self.modules, size)
        self.code = Entity(parent=camera.ui, position=(x0, y0, 0.3), color=color.black,
                           model=Mesh(vertices=verts, triangles=tris, mode="triangle"))
        self.caption = Text(f"live on your phone:\n{url}", parent=camera.ui,
                            position=(x0, y0 - size - 0.012), scale=0.8,
                            color=color.rgba(0.92, 0.94, 0.98, 1))
