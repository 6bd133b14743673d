"""Which resonances of measured FRFs are the storey (bending) modes of a shear frame.

Pure functions on arrays (no I/O). Three steps:

1. `lscf_poles`: a least-squares complex-frequency fit (LSCF, the common-denominator rational
   fraction polynomial behind PolyMAX: Guillaume et al. 2003, Peeters et al. 2004) of every
   output's FRF H_o(w) ~ N_o(z) / d(z), z = exp(j w dt), with real coefficients; the numerators
   are eliminated in closed form (the reduced normal equations), so one model order costs one
   small linear solve. The poles are the roots of d: lambda = ln(z) / dt.
2. `stable_poles`: the fit is repeated over increasing model orders (a stabilisation diagram).
   A physical pole comes back at nearly the same frequency and damping at every order; a
   mathematical one (fitting noise) wanders. A pole is kept when it is stable (frequency within
   1 % or a quarter of its damping ratio, damping within 20 %, of a pole of the previous
   order) in at least half of the orders
   from the first at which it is stable (and in MIN_ORDERS).
3. `mode_shapes` and `bending_modes`: each kept pole's residues over the outputs (a
   least-squares frequency-domain fit with the poles fixed, plus lower/upper residual terms)
   give its shape. A chain of positive masses and stiffnesses has one mode per number of sign
   changes along the floors: mode r changes sign r-1 times (a Jacobi matrix's eigenvectors,
   Sturm's theorem). So a pole is a storey mode only when its shape has the right number of
   sign changes for its rank, or (a component near a node flipped by noise) its MAC with the
   start chain's mode r is at least MAC_MIN and higher than with any other mode; a second pole
   with the same pattern (e.g. a torsional mode seen by off-centre sensors, all floors in
   phase, 3.64 Hz next to a 2.95 Hz bending mode) loses to the one with the higher MAC against
   the start chain's mode, or, when the MACs tie (within MAC_TIE), the one that carries more
   of the measured response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FREQUENCY_TOL = 0.01  # relative frequency change allowed between orders
BANDWIDTH_SHARE = 0.25  # ... or this share of zeta, for a heavily damped mode
DAMPING_TOL = 0.2  # relative damping change allowed between orders
EDGE = 0.05  # share of the band's end frequencies whose poles are not kept
MIN_ORDERS = 4  # a pole must come back at this many orders at least
MAX_DAMPING = 0.2  # a pole with more damping than this is not a structural mode
SHAPE_FLOOR = 0.05  # components below this share of the largest do not count as sign changes
MAC_TIE = 0.1  # MACs closer than this do not decide (the start chain is only roughly right)
MAC_MIN = 0.8  # a shape this like the chain's mode r may be mode r whatever its sign count


@dataclass(frozen=True)
class Pole:
    frequency_hz: float
    damping_ratio: float
    n_orders: int  # orders at which it was stable
    lam: complex  # continuous-time pole, rad/s
    spread_hz: float = 0.0  # standard deviation of its frequency over those orders


def _normal_blocks(f: np.ndarray, H: np.ndarray, W: np.ndarray, order: int):
    """The reduced normal matrix of LSCF at `order` for every order up to it: the basis of
    order n is the first n + 1 columns of order N's, so each order's matrix is built from the
    top-left blocks of the per-output R, S, T (one pass over the data for all orders)."""
    dt = 1.0 / (2.0 * f[-1] * 1.05)  # the band's top just below Nyquist of the z basis
    omega = np.exp(1j * np.outer(2 * np.pi * f * dt, np.arange(order + 1)))
    blocks = []
    for o in range(H.shape[1]):
        X = W[:, o, None] * omega
        Y = -(W[:, o] * H[:, o])[:, None] * omega
        blocks.append(((X.conj().T @ X).real, (X.conj().T @ Y).real, (Y.conj().T @ Y).real))
    return dt, blocks


def _poles_at(dt: float, blocks, n: int) -> np.ndarray:
    M = np.zeros((n + 1, n + 1))
    for R, S, T in blocks:
        R, S, T = R[:n + 1, :n + 1], S[:n + 1, :n + 1], T[:n + 1, :n + 1]
        M += T - S.T @ np.linalg.solve(R, S)
    # denominator's highest coefficient fixed to 1 (a monic polynomial)
    a = np.linalg.lstsq(M[:n, :n], -M[:n, n], rcond=None)[0]
    z = np.roots(np.concatenate([[1.0], a[::-1]]))
    lam = np.log(z.astype(complex)) / dt
    return lam[(lam.imag > 0) & (lam.real < 0)]


def _weights(H: np.ndarray, weight) -> np.ndarray:
    if weight is None:  # each output scaled to unit rms: a quiet floor counts as a loud one
        return np.broadcast_to(1.0 / np.sqrt(np.mean(np.abs(H) ** 2, axis=0)), H.shape)
    return np.asarray(weight, dtype=float).reshape(H.shape)


def lscf_poles(frequency_hz: np.ndarray, h: np.ndarray, order: int,
               weight: np.ndarray | None = None) -> np.ndarray:
    """Poles (rad/s, upper half plane, stable) of an LSCF fit of `order` to h (n_f, outputs).

    weight: (n_f, outputs) non-negative weights of each point's error (None: each output
    scaled to unit rms)."""
    f = np.asarray(frequency_hz, dtype=float)
    H = np.asarray(h, dtype=complex).reshape(f.size, -1)
    dt, blocks = _normal_blocks(f, H, _weights(H, weight), order)
    return _poles_at(dt, blocks, order)


def _ratio(lam: np.ndarray) -> np.ndarray:
    return -lam.real / np.abs(lam)


def _ftol(zeta: float) -> float:
    """Frequency tolerance between orders: FREQUENCY_TOL, or a share of a heavily damped
    mode's half-power half-width (a 12 % damped top mode wanders by 1-2 % with the order)."""
    return max(FREQUENCY_TOL, BANDWIDTH_SHARE * zeta)


def stable_poles(frequency_hz: np.ndarray, h: np.ndarray, orders, weight=None,
                 min_fraction: float = 0.5) -> tuple[list[Pole], list[np.ndarray]]:
    """Poles stable across `orders` (see the module's notes), sorted by frequency, and every
    order's poles (the stabilisation diagram, for plots)."""
    f = np.asarray(frequency_hz, dtype=float)
    orders = list(orders)
    H = np.asarray(h, dtype=complex).reshape(f.size, -1)
    dt, blocks = _normal_blocks(f, H, _weights(H, weight), max(orders))
    diagram = [_poles_at(dt, blocks, n) for n in orders]
    # poles at the very ends of the band fit what lies beyond it: not kept
    lo, hi = f[0] * (1 + EDGE), f[-1] * (1 - EDGE)
    inband = [p[(np.abs(p) / (2 * np.pi) >= lo) & (np.abs(p) / (2 * np.pi) <= hi)
                & (_ratio(p) < MAX_DAMPING)] for p in diagram]
    stable = []  # (frequency, damping, order index, lambda)
    for i in range(1, len(inband)):
        prev, cur = inband[i - 1], inband[i]
        if prev.size == 0:
            continue
        for lam in cur:
            fr, z = abs(lam), _ratio(np.array([lam]))[0]
            j = int(np.argmin(np.abs(np.abs(prev) - fr)))
            if (abs(abs(prev[j]) / fr - 1) <= _ftol(z)
                    and abs(_ratio(prev[j:j + 1])[0] / z - 1) <= DAMPING_TOL):
                stable.append((fr / (2 * np.pi), z, i, lam))
    stable.sort(key=lambda s: s[0])
    poles, group = [], []

    def close(g):
        seen = {s[2] for s in g}
        # stable in at least min_fraction of the orders from its first stable appearance on
        # (a weak mode shows only once the strong ones have their poles), and in MIN_ORDERS
        if len(seen) >= max(MIN_ORDERS, min_fraction * (len(orders) - min(seen))):
            n_ord = len(seen)
            top = max(g, key=lambda s: s[2])  # the highest order's estimate
            fg = np.array([s[0] for s in g])
            poles.append(Pole(float(np.median(fg)), float(np.median([s[1] for s in g])),
                              n_ord, complex(top[3]), float(np.std(fg))))

    for s in stable:
        if group and s[0] > np.median([g[0] for g in group]) * (
                1 + _ftol(float(np.median([g[1] for g in group])))):
            close(group)
            group = []
        group.append(s)
    if group:
        close(group)
    return poles, diagram


def mode_shapes(frequency_hz: np.ndarray, h: np.ndarray, poles: list[Pole],
                weight: np.ndarray | None = None, power: int = 2) -> np.ndarray:
    """Complex residues (outputs, poles) of h = (j w)^power sum_r [R_r / (j w - lambda_r) +
    conj] + a + b (j w)^2 per output, poles fixed (least squares in the frequency domain).

    Each pole's residues come from the points about it (out to its neighbours): a weak
    mode's shape is then not bent by the misfit elsewhere (a light mode narrower than a bin is
    smoothed by the Welch window, which no rational model reproduces exactly). power 2 for
    acceleration FRFs (accelerance, transmissibility): the residues are then those of the
    displacement FRF, proportional to the mode shape for one input."""
    f = np.asarray(frequency_hz, dtype=float)
    H = np.asarray(h, dtype=complex).reshape(f.size, -1)
    jw = 2j * np.pi * f
    lam = np.array([p.lam for p in poles])
    pa = jw[:, None] ** power / (jw[:, None] - lam[None])
    pb = jw[:, None] ** power / (jw[:, None] - lam.conj()[None])
    A = np.hstack([pa + pb, 1j * (pa - pb), np.ones((f.size, 1)), (jw ** 2)[:, None]])
    W = np.ones(H.shape) if weight is None else np.asarray(weight, dtype=float).reshape(H.shape)
    fr = np.array([p.frequency_hz for p in poles])
    edges = np.concatenate([[f[0]], 0.5 * (fr[1:] + fr[:-1]), [f[-1]]])
    out = np.empty((H.shape[1], lam.size), dtype=complex)
    for r in range(lam.size):
        # from halfway to the second neighbour below to halfway to the second above: the
        # immediate neighbours lie inside, so two close modes are told apart by their poles
        pts = (f >= edges[max(r - 1, 0)]) & (f <= edges[min(r + 2, lam.size)])
        if pts.sum() < 6:  # too few points of its own: the whole band
            pts = np.ones(f.size, dtype=bool)
        for o in range(H.shape[1]):
            Aw = W[pts, o, None] * A[pts]
            bw = W[pts, o] * H[pts, o]
            x = np.linalg.lstsq(np.vstack([Aw.real, Aw.imag]),
                                np.concatenate([bw.real, bw.imag]), rcond=None)[0]
            out[o, r] = x[r] + 1j * x[lam.size + r]
    return out


def real_shape(residues: np.ndarray) -> tuple[np.ndarray, float]:
    """The real vector closest to complex residues rotated onto their principal axis, scaled to
    a largest entry of +1, and its collinearity (1: a real normal mode, 0: travelling wave)."""
    r = np.asarray(residues, dtype=complex)
    P = np.vstack([r.real, r.imag])
    u, s, vt = np.linalg.svd(P, full_matrices=False)
    phi = vt[0] * s[0]
    phi = phi / phi[np.argmax(np.abs(phi))]
    collinearity = float(s[0] ** 2 / np.sum(s ** 2)) if s.size > 1 else 1.0
    return phi, collinearity


def sign_changes(shape: np.ndarray, floor: float = SHAPE_FLOOR) -> int:
    """Sign changes along the floors, entries below `floor` x the largest left out."""
    v = np.asarray(shape, dtype=float)
    v = v[np.abs(v) >= floor * np.max(np.abs(v))]
    return int(np.sum(np.sign(v[1:]) != np.sign(v[:-1])))


def mac(a: np.ndarray, b: np.ndarray) -> float:
    """Modal assurance criterion of two shapes (1: the same up to scale)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(abs(np.vdot(a, b)) ** 2 / (np.vdot(a, a).real * np.vdot(b, b).real))


@dataclass(frozen=True)
class Selection:
    """The storey modes among the stable poles."""

    modes: list[int | None]  # per storey mode r (0-based): index into poles, None: not found
    shapes: np.ndarray  # (outputs, poles) real shapes, largest entry +1
    collinearity: np.ndarray  # (poles,)
    sign_changes: np.ndarray  # (poles,)
    strength: np.ndarray  # (poles,) peak response the pole carries
    rejected: dict = field(default_factory=dict)  # pole index -> why it is not a storey mode


def bending_modes(poles: list[Pole], residues: np.ndarray, n_modes: int,
                  chain_shapes: np.ndarray | None = None,
                  floors: np.ndarray | None = None) -> Selection:
    """Storey modes 1..n_modes among the poles (see the module's notes).

    residues: (outputs, poles); floors: the 1-based floor of each output, in any order (the
    sign count runs along the floors); chain_shapes: (floors, modes) of the start chain, for
    the MAC against mode r (over the measured floors)."""
    n_out = residues.shape[0]
    floors = np.arange(1, n_out + 1) if floors is None else np.asarray(floors, dtype=int)
    order = np.argsort(floors)
    shapes = np.empty((n_out, len(poles)))
    col = np.empty(len(poles))
    for i in range(len(poles)):
        shapes[:, i], col[i] = real_shape(residues[:, i])
    changes = np.array([sign_changes(shapes[order, i]) for i in range(len(poles))], dtype=int)
    # the peak response a pole carries: |R| w^2 / (2 zeta w) at resonance of an acceleration
    strength = np.array([np.linalg.norm(residues[:, i]) * 2 * np.pi * p.frequency_hz
                         / max(2 * p.damping_ratio, 1e-6) for i, p in enumerate(poles)])
    macs = np.zeros((len(poles), n_modes))
    if chain_shapes is not None:
        cs = np.asarray(chain_shapes)[floors - 1]
        for i in range(len(poles)):
            for r in range(min(n_modes, cs.shape[1])):
                macs[i, r] = mac(shapes[:, i], cs[:, r])
    # a pole may be storey mode r when its shape changes sign r times (0-based r) or, where
    # noise flips a component near a node, when its shape is most like the chain's mode r
    like = np.argmax(macs, axis=1) if chain_shapes is not None else np.full(len(poles), -1)
    chosen: list[int | None] = []
    rejected = {}
    last_f = 0.0
    used = set()
    for r in range(n_modes):
        cand = [i for i in range(len(poles)) if i not in used and poles[i].frequency_hz > last_f
                and (changes[i] == r or (like[i] == r and macs[i, r] >= MAC_MIN))]
        if not cand:
            chosen.append(None)
            continue
        best = max(cand, key=lambda i: macs[i, r])
        ties = [i for i in cand if macs[best, r] - macs[i, r] <= MAC_TIE]
        best = max(ties, key=lambda i: strength[i])
        chosen.append(best)
        used.add(best)
        last_f = poles[best].frequency_hz
        for i in cand:
            if i != best:
                why = "a lower MAC" if i not in ties else "weaker"
                rejected[i] = (f"shape like storey mode {r + 1} ({changes[i]} sign changes, "
                               f"MAC {macs[i, r]:.2f}) but {why} than the pole at "
                               f"{poles[best].frequency_hz:.3f} Hz")
    rejected = {i: why for i, why in rejected.items() if i not in used}
    for i in range(len(poles)):
        if i not in used and i not in rejected:
            rejected[i] = (f"shape has {changes[i]} sign changes along the floors"
                           + (f" (best MAC {macs[i].max():.2f}, chain mode {like[i] + 1})"
                              if chain_shapes is not None else "")
                           + f": no storey mode of a {n_modes}-mode chain in this order")
    return Selection(chosen, shapes, col, changes, strength, rejected)
