"""Bench step for the scene's plots: min/max decimation of a long record to pixel columns,
against a plain numpy baseline measured in the same run (the answers are compared too)."""

from __future__ import annotations

import numpy as np

from twin3d.bench import best, figure


def _numpy_minmax(x, y, x0, x1, n):
    """Plain numpy: column index per sample, then unbuffered fmin/fmax scatter."""
    keep = (x >= x0) & (x <= x1) & ~np.isnan(y)
    c = np.minimum(((x[keep] - x0) * (n / (x1 - x0))).astype(np.int64), n - 1)
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    np.fmin.at(lo, c, y[keep])
    np.fmax.at(hi, c, y[keep])
    lo[np.isinf(lo)] = np.nan
    hi[np.isinf(hi)] = np.nan
    return lo, hi


def bench_decimate(samples: int, columns: int, repeat: int) -> list[dict]:
    from twin3d.view.plot_maths import minmax_decimate

    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 10.0, samples)
    y = np.sin(2 * np.pi * x) + 0.1 * rng.standard_normal(samples)
    y[rng.random(samples) < 0.001] = np.nan
    minmax_decimate(x[:16], y[:16], 0.0, 10.0, 4)  # compile (or load the cache) outside timing
    _, lo, hi = minmax_decimate(x, y, 0.0, 10.0, columns)
    blo, bhi = _numpy_minmax(x, y, 0.0, 10.0, columns)
    if not (np.array_equal(lo, blo, equal_nan=True) and np.array_equal(hi, bhi, equal_nan=True)):
        raise AssertionError("min/max decimation differs from the numpy baseline")
    ours = best(lambda: minmax_decimate(x, y, 0.0, 10.0, columns), repeat)
    base = best(lambda: _numpy_minmax(x, y, 0.0, 10.0, columns), max(1, repeat // 2))
    return [figure(f"plot min/max decimation, {samples:.0e} samples to {columns} columns",
                   ours, base, "numpy ufunc.at", "s", 5.0)]


def steps(quick: bool) -> list:
    n = 1_000_000 if quick else 10_000_000
    return [("plot decimation", lambda: bench_decimate(n, 1000, 3 if quick else 5))]
