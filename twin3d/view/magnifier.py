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
