"""Colour maps and the scene's palette (pure functions, no rendering)."""

from __future__ import annotations

import numpy as np

# Inter-storey drift as a fraction of the rig's drift limit: aluminium grey at rest, amber at
# half the limit, red at the limit (and beyond). Chosen to read on a dark background and to
# leave the unstrained frame looking like metal.
DRIFT_STOPS = np.array([0.0, 0.5, 1.0])
DRIFT_COLOURS = np.array([[0.67, 0.70, 0.76, 1.0],
                          [1.00, 0.72, 0.16, 1.0],
                          [0.95, 0.16, 0.10, 1.0]])


# Sway displacement (relative to the base) as a fraction of the top floor's with every storey
# at its drift limit (`--colour displacement`): blue-grey at rest through teal to yellow, hues
# apart from the drift map's amber and red so the two are not confused.
DISPLACEMENT_STOPS = np.array([0.0, 0.5, 1.0])
DISPLACEMENT_COLOURS = np.array([[0.55, 0.62, 0.75, 1.0],
                                 [0.15, 0.78, 0.72, 1.0],
                                 [1.00, 0.90, 0.25, 1.0]])


def _ramp(ratio, stops: np.ndarray, colours: np.ndarray) -> np.ndarray:
    r = np.clip(np.abs(np.asarray(ratio, dtype=float)), 0.0, 1.0)
    return np.stack([np.interp(r, stops, colours[:, c]) for c in range(4)], axis=-1)


def drift_colours(ratio: np.ndarray) -> np.ndarray:
    """RGBA (n, 4) for drift/limit ratios (clipped to 0..1)."""
    return _ramp(ratio, DRIFT_STOPS, DRIFT_COLOURS)


def displacement_colours(ratio: np.ndarray) -> np.ndarray:
    """RGBA (n, 4) for |displacement| / reference ratios (clipped to 0..1)."""
    return _ramp(ratio, DISPLACEMENT_STOPS, DISPLACEMENT_COLOURS)


def nice_number(x: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above x (x > 0)."""
    if not x > 0:
        return 1.0
    k = np.floor(np.log10(x))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= x * (1 + 1e-9):
            return float(m * 10**k)
    return float(10**k)
