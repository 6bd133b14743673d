"""How much the scene magnifies motion so that it reads at a glance (pure logic).

Sway of a few tenths of a millimetre is invisible on a 0.6 m frame, so displacements are drawn
magnified by a factor from the 1-2-5 series, chosen so the largest recent motion spans about
`target_m` on screen. The factor drops at once when motion grows (nothing flies off screen)
and rises only when motion has stayed smaller for a while (no flicker of the label)."""

from __future__ import annotations

import numpy as np

from twin3d.view.colours import nice_number


class Magnifier:
    def __init__(self, target_m: float, lo: float = 1.0, hi: float = 5000.0,
                 decay_s: float = 3.0, initial: float | None = None):
        self.target_m, self.lo, self.hi, self.decay_s = target_m, lo, hi, decay_s
        self.peak_m = 0.0
        self.factor = initial or hi

    def update(self, displacements_m: np.ndarray, dt: float) -> float:
        now = float(np.max(np.abs(displacements_m))) if np.size(displacements_m) else 0.0
        self.peak_m = max(now, self.peak_m * np.exp(-max(dt, 0.0) / self.decay_s))
        ideal = self.hi if self.peak_m <= 0 else min(self.hi, self.target_m / self.peak_m)
        wanted = max(self.lo, nice_number(ideal))
        if wanted < self.factor or wanted >= 2 * self.factor:
            self.factor = wanted
        return self.factor


class MotionScale:
    """The magnification of the structure's deformation and of the table's travel, each from
    its own Magnifier: an earthquake moves the table by centimetres while the frame bends by a
    fraction of a millimetre, and one factor for both (fitted to the table) left the frame
    nearly straight. The table is never magnified more than the frame; when the two factors
    differ the label says both."""

    def __init__(self, target_m: float, **kw):
        self.deformation = Magnifier(target_m, **kw)
        self.table = Magnifier(target_m, **kw)
        self.factor = self.table_factor = self.deformation.factor
        self.hi = self.deformation.hi

    def reset(self) -> None:
        for m in (self.deformation, self.table):
            m.peak_m, m.factor = 0.0, m.hi

    def update(self, table_m: float, floors_m: np.ndarray, dt: float) -> np.ndarray:
        """q drawn = [table, table + floor 1, ...]: the table's travel times table_factor,
        each floor's displacement relative to the table times factor."""
        floors_m = np.asarray(floors_m, dtype=float)
        self.factor = self.deformation.update(floors_m, dt)
        self.table_factor = min(self.table.update(np.array([table_m]), dt), self.factor)
        x = self.table_factor * table_m
        return np.concatenate(([x], x + self.factor * floors_m))

    @property
    def label(self) -> str:
        """'x50', or 'x200 (table x5)' when the table is magnified less than the frame."""
        if self.table_factor == self.factor:
            return f"x{self.factor:g}"
        return f"x{self.factor:g} (table x{self.table_factor:g})"
