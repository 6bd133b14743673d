"""Forced chain with cubic storey springs: open-loop sweeps, control-based continuation (CBC)
and a numerical reference continuation (shooting + pseudo-arclength, Floquet stability).

Model (Cristallo's toy model, TOOLS.md 4.2, written for any N): floors 1..N, storey i joins
floor i-1 to floor i (floor 0 = ground) with force s_i d + s3_i d^3 + b_i d' on the drift d.
A force f(t) = A cos(w t) + B sin(w t) + u(t) acts on floor 1; u is the CBC controller,
u = kp (x*(t) - x1) + kd (x*'(t) - v1) (positive gains stabilise; Cristallo's -120 and -25
are the same gains in its sign convention, where forces enter with a minus sign).

Everything time-dependent runs in numba kernels on a fixed RK4 grid with a whole number of
steps per forcing period, so Fourier coefficients over the last period are exact sums and
the state carries over from one sweep step to the next without interpolation.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, fastmath=True)
def _accel(x, v, m, b, s, s3, force, out):
    """Floor accelerations of the chain for a force on floor 1."""
    n = m.size
    for i in range(n):
        out[i] = 0.0
    for i in range(n):
        d = x[i] - (x[i - 1] if i > 0 else 0.0)
        dv = v[i] - (v[i - 1] if i > 0 else 0.0)
        f = s[i] * d + s3[i] * d * d * d + b[i] * dv  # storey force
        out[i] -= f
        if i > 0:
            out[i - 1] += f
    out[0] += force
    for i in range(n):
        out[i] /= m[i]


@numba.njit(cache=True, fastmath=True)
def _forcing_table(w, steps, A, B, kp, kd, ca, cb):
    """Feed-forward plus the controller's target part, kp x*(t) + kd x*'(t), at every half step
    of one period (the target x*(t) = sum ca_n cos + cb_n sin - ca_0/2, Cristallo's series).
    Tabulated once per call: the RK4 stages then need no trigonometry."""
    h = 2 * np.pi / w / steps
    tab = np.empty(2 * steps + 1)
    for j in range(2 * steps + 1):
        t = 0.5 * h * j
        f = A * np.cos(w * t) + B * np.sin(w * t)
        if kp != 0.0 or kd != 0.0:
            xs = -0.5 * ca[0]
            vs = 0.0
            for k in range(ca.size):
                c, sn = np.cos(k * w * t), np.sin(k * w * t)
                xs += ca[k] * c + cb[k] * sn
                vs += k * w * (cb[k] * c - ca[k] * sn)
            f += kp * xs + kd * vs
        tab[j] = f
    return tab


@numba.njit(cache=True, fastmath=True)
def simulate(m, b, s, s3, state, w, periods, steps, A, B, kp, kd, ca, cb, keep):
    """RK4 over `periods` forcing periods of `steps` steps each, from state = [x, v] (updated
    in place). Returns x of every floor at the last `keep` periods' steps, (keep*steps, N).
    The force on floor 1 is A cos + B sin + kp (x* - x1) + kd (x*' - v1)."""
    n = m.size
    h = 2 * np.pi / w / steps
    tab = _forcing_table(w, steps, A, B, kp, kd, ca, cb)
    x = state[:n].copy()
    v = state[n:].copy()
    out = np.empty((keep * steps, n))
    k1x = np.empty(n); k1v = np.empty(n); k2x = np.empty(n); k2v = np.empty(n)  # noqa: E702
    k3x = np.empty(n); k3v = np.empty(n); k4x = np.empty(n); k4v = np.empty(n)  # noqa: E702
    xt = np.empty(n); vt = np.empty(n)  # noqa: E702
    total = periods * steps
    for j in range(total):
        q = 2 * (j % steps)  # whole periods: the phase restarts exactly each period
        if j >= total - keep * steps:
            out[j - (total - keep * steps)] = x
        _accel(x, v, m, b, s, s3, tab[q] - kp * x[0] - kd * v[0], k1v)
        for i in range(n):
            k1x[i] = v[i]
            xt[i] = x[i] + 0.5 * h * k1x[i]
            vt[i] = v[i] + 0.5 * h * k1v[i]
        _accel(xt, vt, m, b, s, s3, tab[q + 1] - kp * xt[0] - kd * vt[0], k2v)
        for i in range(n):
            k2x[i] = vt[i]
            xt[i] = x[i] + 0.5 * h * k2x[i]
            vt[i] = v[i] + 0.5 * h * k2v[i]
        _accel(xt, vt, m, b, s, s3, tab[q + 1] - kp * xt[0] - kd * vt[0], k3v)
        for i in range(n):
            k3x[i] = vt[i]
            xt[i] = x[i] + h * k3x[i]
            vt[i] = v[i] + h * k3v[i]
        _accel(xt, vt, m, b, s, s3, tab[q + 2] - kp * xt[0] - kd * vt[0], k4v)
        for i in range(n):
            k4x[i] = vt[i]
            x[i] += h / 6 * (k1x[i] + 2 * k2x[i] + 2 * k3x[i] + k4x[i])
            v[i] += h / 6 * (k1v[i] + 2 * k2v[i] + 2 * k3v[i] + k4v[i])
    state[:n] = x
    state[n:] = v
    return out


@numba.njit(cache=True)
def fourier(y, steps, harmonics):
    """Coefficients a_0..a_k, b_0..b_k of one sampled period (y: steps samples from t = 0):
    a_n = (2/N) sum y cos(n w t), b_n likewise (exact for a periodic signal)."""
    a = np.zeros(harmonics + 1)
    bb = np.zeros(harmonics + 1)
    for j in range(steps):
        ph = 2 * np.pi * j / steps
        for k in range(harmonics + 1):
            a[k] += 2.0 / steps * y[j] * np.cos(k * ph)
            bb[k] += 2.0 / steps * y[j] * np.sin(k * ph)
    return a, bb


def steps_per_period(w: float, h_max: float, minimum: int = 64) -> int:
    return max(minimum, int(np.ceil(2 * np.pi / w / h_max)))


# ---------------------------------------------------------------------------------------------
# Open-loop sweeps (TOOLS.md 4.5, 4.6)
# ---------------------------------------------------------------------------------------------

_NONE = np.zeros(1)


@numba.njit(cache=True)
def _frequency_sweep(m, b, s, s3, state, omegas, force, periods, h_max):
    """Half peak-to-peak of each floor over the last fifth of `periods` periods per step."""
    out = np.empty((omegas.size, m.size))
    for i in range(omegas.size):
        w = omegas[i]
        steps = max(64, int(np.ceil(2 * np.pi / w / h_max)))
        keep = max(1, periods // 5)
        y = simulate(m, b, s, s3, state, w, periods, steps, 0.0, force, 0.0, 0.0, _NONE,
                     _NONE, keep)
        for f in range(m.size):
            out[i, f] = 0.5 * (y[:, f].max() - y[:, f].min())
    return out


@numba.njit(cache=True)
def _amplitude_sweep(m, b, s, s3, state, w, forces, periods, steps):
    """First-harmonic amplitude of each floor over the last period, per forcing amplitude."""
    out = np.empty((forces.size, m.size))
    for i in range(forces.size):
        y = simulate(m, b, s, s3, state, w, periods, steps, 0.0, forces[i], 0.0, 0.0, _NONE,
                     _NONE, 1)
        for f in range(m.size):
            a, bb = fourier(y[:, f], steps, 1)
            out[i, f] = np.hypot(a[1], bb[1])
    return out


def frequency_sweep(m, b, s, s3, state, omegas, force, periods=10, h_max=1.5e-3):
    """Open-loop sweep over `omegas` (in that order) at forcing amplitude `force`; `state`
    (length 2N) carries over between steps and is updated in place. Returns (n_w, N) m."""
    return _frequency_sweep(*_arr(m, b, s, s3), state, np.asarray(omegas, float), float(force),
                            int(periods), float(h_max))


def amplitude_sweep(m, b, s, s3, state, w, forces, periods=40, h_max=1.5e-3):
    """Open-loop sweep over forcing amplitudes `forces` at w; state carried (in place)."""
    return _amplitude_sweep(*_arr(m, b, s, s3), state, float(w), np.asarray(forces, float),
                            int(periods), steps_per_period(w, h_max))


def _arr(*xs):
    return tuple(np.ascontiguousarray(x, dtype=np.float64) for x in xs)


# ---------------------------------------------------------------------------------------------
# Control-based continuation in forcing amplitude (TOOLS.md 4.7)
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _cbc_point(m, b, s, s3, state, w, steps, periods, kp, kd, ff, ca, cb, target, harmonics,
               maxiter, etol):
    """One CBC point: iterate until the target's higher harmonics (copied from the response,
    so the control is non-invasive there) settle, updating the feed-forward so that the
    controller's fundamental vanishes. ff = [A, B] and the targets are updated in place.
    Returns (forcing amplitude, first-harmonic amplitude of every floor, iterations)."""
    n = m.size
    ca[1] = target
    cb[1] = 0.0
    amps = np.zeros(n)
    prev_a = ca.copy()
    prev_b = cb.copy()
    it = 0
    while True:
        y = simulate(m, b, s, s3, state, w, periods, steps, ff[0], ff[1], kp, kd, ca, cb, 1)
        a, bb = fourier(y[:, 0], steps, harmonics)
        err = abs(a[0] - prev_a[0])
        e1 = 0.0
        e2 = 0.0
        for k in range(2, harmonics + 1):
            e1 += (a[k] - prev_a[k]) ** 2
            e2 += (bb[k] - prev_b[k]) ** 2
        err += np.sqrt(e1) + np.sqrt(e2)
        # feed-forward takes over the controller's fundamental: kp (da cos + db sin) +
        # kd w (db cos - da sin)
        da = ca[1] - a[1]
        db = cb[1] - bb[1]
        ff[0] += kp * da + kd * w * db
        ff[1] += kp * db - kd * w * da
        ca[0] = a[0]
        cb[0] = bb[0]
        for k in range(2, harmonics + 1):
            ca[k] = a[k]
            cb[k] = bb[k]
        prev_a[:] = a
        prev_b[:] = bb
        it += 1
        if err <= etol or it > maxiter:
            break
    for f in range(n):
        a, bb = fourier(y[:, f], steps, 1)
        amps[f] = np.hypot(a[1], bb[1])
    return np.hypot(ff[0], ff[1]), amps, it


def cbc(m, b, s, s3, state, w, f_min, f_max, a_max, kp, kd, n_targets=100, periods=20,
        init_periods=100, harmonics=5, maxiter=10, etol=1e-3, h_max=1.5e-3, progress=None,
        cancelled=None):
    """Cristallo's CBC in forcing amplitude at frequency w: two open-loop points at the
    lowest forcing amplitudes of a 200-point grid, then n_targets target amplitudes of x1 up
    to a_max, each reached by the PD controller plus a feed-forward updated until the control
    is non-invasive. Returns (forces (n,), amplitudes (n, N), iterations (n,))."""
    m, b, s, s3 = _arr(m, b, s, s3)
    steps = steps_per_period(w, h_max)
    grid = np.linspace(f_min, f_max, 200)
    forces, amps, iters = [], [], []
    for f0 in grid[:2]:
        amps.append(_amplitude_sweep(m, b, s, s3, state, float(w), np.array([f0]),
                                     int(init_periods), steps)[0])
        forces.append(f0)
        iters.append(0)
    # Cristallo indexes the targets by the number of branch points so far, so the first
    # target (the second open-loop amplitude itself) is skipped: n_targets - 1 CBC points
    targets = np.linspace(amps[-1][0], a_max, n_targets)[1:]
    ff = np.array([0.0, grid[1]])
    ca = np.zeros(harmonics + 1)
    cb = np.zeros(harmonics + 1)
    for i, tgt in enumerate(targets):
        if cancelled is not None and cancelled():
            break
        phi, a, it = _cbc_point(m, b, s, s3, state, float(w), steps, int(periods), float(kp),
                                float(kd), ff, ca, cb, float(tgt), int(harmonics),
                                int(maxiter), float(etol))
        forces.append(phi)
        amps.append(a)
        iters.append(it)
        if progress is not None and i % 10 == 0:
            progress(i / n_targets)
    return np.array(forces), np.array(amps), np.array(iters)


# ---------------------------------------------------------------------------------------------
# Numerical reference: shooting + pseudo-arclength continuation in forcing amplitude
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, fastmath=True)
def _var_rhs(z, m, b, s, s3, force, sin_wt, acc, J, out):
    """State [x, v], its 2N x 2N sensitivity and d/d(phi), all integrated together
    (acc, J: work buffers; force = phi sin(w t), sin_wt = sin(w t))."""
    n = m.size
    n2 = 2 * n
    _accel(z[:n], z[n:n2], m, b, s, s3, force, acc)
    for i in range(n):
        out[i] = z[n + i]
        out[n + i] = acc[i]
    # Jacobian of the acceleration: tangent storey stiffness s + 3 s3 d^2 and damping b
    J[:, :] = 0.0
    for i in range(n):
        d = z[i] - (z[i - 1] if i > 0 else 0.0)
        kt = s[i] + 3 * s3[i] * d * d
        J[i, i] -= kt / m[i]
        J[i, n + i] -= b[i] / m[i]
        if i > 0:
            J[i, i - 1] += kt / m[i]
            J[i, n + i - 1] += b[i] / m[i]
            J[i - 1, i] += kt / m[i - 1]
            J[i - 1, n + i] += b[i] / m[i - 1]
            J[i - 1, i - 1] -= kt / m[i - 1]
            J[i - 1, n + i - 1] -= b[i] / m[i - 1]
    # columns: n2 sensitivity columns, then the d/d(phi) column
    for c in range(n2 + 1):
        base = n2 + c * n2
        for i in range(n):
            out[base + i] = z[base + n + i]
        for i in range(n):
            a = 0.0
            for j in range(n2):
                a += J[i, j] * z[base + j]
            out[base + n + i] = a
    out[n2 + n2 * n2 + n] += sin_wt / m[0]


@numba.njit(cache=True)
def shoot(m, b, s, s3, x0, w, phi, steps):
    """One forcing period from x0: end state, monodromy matrix, d(end)/d(phi), and x(t)."""
    n2 = x0.size
    n = n2 // 2
    size = n2 + n2 * (n2 + 1)
    z = np.zeros(size)
    z[:n2] = x0
    for c in range(n2):
        z[n2 + c * n2 + c] = 1.0
    h = 2 * np.pi / w / steps
    k1 = np.empty(size); k2 = np.empty(size); k3 = np.empty(size); k4 = np.empty(size)  # noqa
    zt = np.empty(size)
    acc = np.empty(n)
    J = np.empty((n, n2))
    xs = np.empty((steps, n))
    for j in range(steps):
        t = j * h
        s0, s1, s2 = np.sin(w * t), np.sin(w * (t + 0.5 * h)), np.sin(w * (t + h))
        xs[j] = z[:n]
        _var_rhs(z, m, b, s, s3, phi * s0, s0, acc, J, k1)
        for i in range(size):
            zt[i] = z[i] + 0.5 * h * k1[i]
        _var_rhs(zt, m, b, s, s3, phi * s1, s1, acc, J, k2)
        for i in range(size):
            zt[i] = z[i] + 0.5 * h * k2[i]
        _var_rhs(zt, m, b, s, s3, phi * s1, s1, acc, J, k3)
        for i in range(size):
            zt[i] = z[i] + h * k3[i]
        _var_rhs(zt, m, b, s, s3, phi * s2, s2, acc, J, k4)
        for i in range(size):
            z[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])
    mono = np.empty((n2, n2))
    for c in range(n2):
        for i in range(n2):
            mono[i, c] = z[n2 + c * n2 + i]
    dphi = z[n2 + n2 * n2:n2 + n2 * n2 + n2].copy()
    return z[:n2].copy(), mono, dphi, xs


def _residual(m, b, s, s3, y, w, steps):
    n2 = y.size - 1
    end, mono, dphi, xs = shoot(m, b, s, s3, y[:n2], w, y[n2], steps)
    G = end - y[:n2]
    J = np.hstack([mono - np.eye(n2), dphi[:, None]])
    return G, J, mono, xs


def continuation(m, b, s, s3, w, f_start, f_max, a_max, ds=0.01, ds_max=0.1, h_max=1.5e-3,
                 max_points=2000, progress=None, cancelled=None):
    """Periodic orbits of the forced chain at w, continued in forcing amplitude phi by
    pseudo-arclength from phi = f_start until phi > f_max or the x1 amplitude > a_max.

    Unknowns y = [x(0), v(0), phi]; equations x(T; y) - x(0) = 0 plus the arclength condition
    on a scaled tangent (phi measured in units of f_max). Newton with the exact Jacobian from the
    variational equations. Returns (phi (n,), first-harmonic amplitudes (n, N), stable (n,),
    Floquet multipliers' largest modulus (n,))."""
    m, b, s, s3 = _arr(m, b, s, s3)
    n = m.size
    n2 = 2 * n
    steps = steps_per_period(w, h_max)
    # scaled unknowns: displacements in units of a_max, velocities of a_max w, phi of f_max,
    # so that a step ds is a comparable move along every coordinate
    scale = np.empty(n2 + 1)
    scale[:n] = a_max
    scale[n:n2] = a_max * w
    scale[n2] = f_max
    # start: the linear response (Newton from rest converges at small forcing)
    y = np.zeros(n2 + 1)
    y[n2] = f_start
    for _ in range(30):
        G, J, *_ = _residual(m, b, s, s3, y, w, steps)
        dy = np.linalg.solve(J[:, :n2], -G)
        y[:n2] += dy
        if np.linalg.norm(dy) < 1e-12:
            break
    tangent = None
    out_phi, out_amp, out_stab, out_mu = [], [], [], []
    for it in range(max_points):
        if cancelled is not None and cancelled():
            break
        G, J, mono, xs = _residual(m, b, s, s3, y, w, steps)
        mu = np.abs(np.linalg.eigvals(mono))
        amp = np.array([np.hypot(*[c[1] for c in fourier(xs[:, f].copy(), steps, 1)])
                        for f in range(n)])
        out_phi.append(y[n2])
        out_amp.append(amp)
        out_mu.append(mu.max())
        out_stab.append(bool(mu.max() < 1.0))
        if y[n2] > f_max or amp[0] > a_max or y[n2] < 0:
            break
        if progress is not None and it % 20 == 0:
            progress(min(amp[0] / a_max, 0.99))
        # tangent: null vector of the scaled Jacobian, oriented along the previous one
        Js = J * scale[None, :]
        t = np.linalg.svd(Js)[2][-1]
        if tangent is None:
            t = t if t[n2] > 0 else -t
        elif np.dot(t, tangent) < 0:
            t = -t
        tangent = t
        step = ds
        while True:
            yp = y + step * t * scale
            yc = yp.copy()
            ok = False
            for k in range(8):
                G, J, *_ = _residual(m, b, s, s3, yc, w, steps)
                A = np.vstack([J * scale[None, :], t[None, :]])
                rhs = -np.concatenate([G, [np.dot(t, (yc - yp) / scale)]])
                dz = np.linalg.solve(A, rhs)
                yc += dz * scale
                if np.linalg.norm(dz) < 1e-10:
                    ok = True
                    break
            if ok:
                break
            step *= 0.5
            if step < 1e-6:
                raise RuntimeError("continuation: Newton failed to converge")
        # adapt: quick convergence lengthens the next step, slow shortens it
        ds = min(ds_max, step * (1.5 if k <= 2 else 1.0 if k <= 4 else 0.7))
        y = yc
    return np.array(out_phi), np.array(out_amp), np.array(out_stab), np.array(out_mu)


def folds(forces: np.ndarray, amplitude: np.ndarray) -> list[tuple[float, float]]:
    """(force, amplitude) at the folds of a branch ordered along its arclength: the local
    extrema of the force, refined by a parabola through the three points around each."""
    out = []
    d = np.diff(forces)
    for i in range(1, forces.size - 1):
        if d[i - 1] * d[i] < 0:
            a0, a1, a2 = amplitude[i - 1:i + 2]
            f0, f1, f2 = forces[i - 1:i + 2]
            try:  # force as a parabola in amplitude through the three points
                c = np.polyfit([a0, a1, a2], [f0, f1, f2], 2)
                av = -c[1] / (2 * c[0])
                if min(a0, a2) <= av <= max(a0, a2):
                    out.append((float(np.polyval(c, av)), float(av)))
                    continue
            except (np.linalg.LinAlgError, ValueError):
                pass
            out.append((float(f1), float(a1)))
    return out
