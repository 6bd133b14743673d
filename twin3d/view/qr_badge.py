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
    """The code on a white card at the top-left of layout region `badge` (or at `position`,
    UI units, `size` wide), and the URL under it, wrapped to the card's width."""

    def __init__(self, url: str, position=None, size: float | None = None):
        from ursina import Entity, Mesh, camera, color

        from twin3d.view import layout
        from twin3d.view import widgets as W

        self.url = url
        self.modules = qr_modules(url)
        caption_h = 3 * W.TEXT_S * W.Text.size + 0.012  # the caption's three lines at most
        width = size
        if position is None:
            r = layout.region("badge")
            position, size, width = (r.x, r.top), min(r.w, r.h - caption_h), r.w
        self.position, self.size = position, size
        x0, y0 = position
        self.root = layout.register(Entity(parent=camera.ui), "badge")
        self.card = Entity(parent=self.root, model="quad", origin=(-0.5, 0.5),
                           position=(x0, y0, 0.4), scale=(size, size), color=color.white)
        verts, tris = module_quads(self.modules, size)
        self.code = Entity(parent=self.root, position=(x0, y0, 0.3), color=color.black,
                           model=Mesh(vertices=verts, triangles=tris, mode="triangle"))
        self.caption = W.label(f"live on your phone:\n{url}", self.root,
                               (x0, y0 - size - 0.012), W.TEXT_S, W.TEXT,
                               wrap_width=width, max_lines=3)
