"""Bench: the continuation tool's default session vs a scipy odeint baseline."""

from __future__ import annotations

import numpy as np


def _odeint_amplitude_sweep(forces, periods=40, w=16.0):
    """Cristallo's open-loop amplitude sweep with odeint (LSODA), periods*250+1 output times
    per step, state carried over: the baseline procedure."""
    import scipy.integrate

    m, b, s, s13 = 0.2, 0.1, 200.0, 200.0
    Mi = 1 / m
    Bm = b * np.array([[2, -1, 0], [-1, 2, -1], [0, -1, 1]], float)
    Sm = s * np.array([[2, -1, 0], [-1, 2, -1], [0, -1, 1]], float)
    state = np.zeros(6)
    t = np.linspace(0, periods * 2 * np.pi / w, periods * 250 + 1)
    out = []
    for F in forces:
        def rhs(u, tt, F=F):
            v, x = u[:3], u[3:]
            f = Bm @ v + Sm @ x
            f[0] += s13 * x[0] ** 3 + F * np.sin(w * tt)
            return np.concatenate([-Mi * f, v])
        y = scipy.integrate.odeint(rhs, state, t)
        state = y[-1]
        out.append(np.ptp(y[-251:-1, 3]) / 2)
    return np.array(out)


def bench_continuation(quick: bool) -> list[dict]:
    from twin3d import tools
    from twin3d.physics import continuation as nc
    from twin3d.tools import continuation as tool

    from twin3d.bench import best, figure

    inputs = tools.example_inputs(tool)
    ctx = tools.Context(scene=object())  # the default session needs no scene
    tool.run(inputs, ctx)  # compile (or load the numba cache) outside the timing
    ours = best(lambda: tool.run(inputs, ctx), 1 if quick else 3)
    n = 10 if quick else 40
    forces = np.linspace(1, 80, 40)[:n]
    base = best(lambda: _odeint_amplitude_sweep(forces), 1)
    m, b, s, s3 = np.full(3, 0.2), np.full(3, 0.1), np.full(3, 200.0), np.array([200.0, 0, 0])
    ours_asw = best(lambda: nc.amplitude_sweep(m, b, s, s3, np.zeros(6), 16.0, forces), 3)
    # simulated time of the whole default session vs of this amplitude sweep, to scale fairly
    w = np.linspace(1, 50, 200)
    t_fsw = 10 * 2 * np.pi * (np.sum(1 / w) + np.sum(1 / w[:-1]))
    t_asw = 79 * 40 * 2 * np.pi / 16
    t_cbc = (2 * 100 + 99 * 20 * 3) * 2 * np.pi / 16  # ~3 iterations per CBC point
    scale = (t_fsw + t_asw + t_cbc) / (n * 40 * 2 * np.pi / 16)
    return [
        figure(f"nonlinear open-loop amplitude sweep, {n} steps x 40 periods", ours_asw, base,
               "scipy odeint (LSODA), Cristallo's procedure", "s", 10.0),
        figure("continuation tool, default session (sweeps + CBC + shooting reference)", ours,
               base * scale, f"scipy odeint amplitude sweep scaled x{scale:.0f} by simulated "
               "time (reference continuation not counted); goal = under 2 s", "s",
               base * scale / 2.0),
    ]


def steps(quick: bool) -> list:
    return [("continuation tool", lambda: bench_continuation(quick))]
