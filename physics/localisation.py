"""Damage localisation: which storey's stiffness changed, and by how much, from tracked modes.

The structure is a spring network: storey i (1..N) is the spring k_i between floor i-1 (the
table for i = 1) and floor i; anything else the model carries (an actuator's spring and moving
mass, extra degrees of freedom) stays as the model has it. With theta_i the relative change of
k_i,

    K(theta) = K_rest + sum_i k_i (1 + theta_i) G_i,     G_i = chain_matrix(e_i),

and the eigenvalues lambda_r = (2 pi f_r)^2 of K(theta) phi = lambda M phi have the exact
sensitivities d lambda_r / d theta_i = k_i phi_r^T G_i phi_r (mass-normalised phi_r): the
strain energy of storey i in mode r. `localise` fits theta by weighted least squares on the
tracked frequencies (weights 1 / sigma_r^2), Gauss-Newton on the exact eigenproblem (each
iteration solves it at the current theta; a few iterations converge for changes of tens of %).

The fit's covariance (J^T W J)^-1 gives each storey's 95 % interval. Three tests decide what is
said, at a false-alarm rate `alpha` each:
  * departure: chi^2 of the tracked frequencies against the baseline (theta = 0), m modes;
  * explained: chi^2 of the residual after the fit, m - N degrees of freedom; too large means
    no storey-stiffness change explains the data (a mass change, a sensor fault): "unexplained";
  * which storey: |theta_i| / se_i above the two-sided Bonferroni quantile for N storeys, and
    |theta_i| at least `min_change` (a change too small to matter is not an alarm). Significant
    changes of both signs at once (one storey stiffer, another softer) are what a floor's mass
    change looks like through its two storeys: also "unexplained".
With as many modes as storeys the residual test has no degree of freedom and cannot tell a mass
change from stiffness changes; the carried frame (actuator hung on, N + 1 modes) has one. A
uniform change of every mass is indistinguishable from a uniform change of every stiffness by
frequencies alone (only their ratio enters): no test on frequencies can call it unexplained.

When the departure is significant but the N-storey fit names no storey (the modes that carry
the change are too few or too uncertain to separate N storeys at once), `localise` tries the
single-change hypothesis (Cawley and Adams 1979): each storey alone; see `_one_storey`.

`DamageMonitor` runs `localise` on every tracker update: it first learns the tracker's scatter
per mode and its bias on this model from undamaged updates (the baseline: on a building under
unmeasured wind, the tracker reads its heavily damped modes 4 and 5 4-13 % high, steadily, and
only a learned bias keeps that from alarming; `bias_max` only bounds it), then raises an alarm
only when k of the last n updates agree on the same verdict (persistence).
Pure: no I/O, no clocks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.stats

from twin3d.physics.structure import chain_matrix

ALPHA = 1e-3  # false-alarm probability of each chi-square / z test per update
MIN_CHANGE = 0.02  # smallest storey change reported (relative)
DECISIVE = 100.0  # likelihood ratio that names one storey over every other (_one_storey)
GN_TOL = 1e-10
GN_MAX_ITER = 30


def storey_patterns(n_storeys: int, n_dof: int) -> np.ndarray:
    """G_i (N, n_dof, n_dof): the unit storey-i spring of an N-storey chain inside n_dof."""
    g = np.zeros((n_storeys, n_dof, n_dof))
    for i in range(n_storeys):
        e = np.zeros(n_storeys)
        e[i] = 1.0
        g[i, :n_storeys, :n_storeys] = chain_matrix(e)
    return g


@dataclass(frozen=True)
class StoreyModel:
    """Baseline mass and stiffness, split into the storey springs and the rest."""

    M: np.ndarray  # (n, n)
    K_rest: np.ndarray  # (n, n): stiffness that is not a storey spring (devices, ...)
    storey_k: np.ndarray  # (N,) baseline storey stiffness, N/m
    G: np.ndarray  # (N, n, n) unit storey patterns

    @classmethod
    def from_matrices(cls, M: np.ndarray, K: np.ndarray, n_storeys: int) -> StoreyModel:
        """Read the storey springs off K as a spring network: floors are the first N degrees
        of freedom; k_1 is floor 1's spring to ground (its row sum), k_{i+1} = -K[i-1, i]."""
        M = np.asarray(M, dtype=float)
        K = np.asarray(K, dtype=float)
        n = K.shape[0]
        if not 1 <= n_storeys <= n:
            raise ValueError(f"n_storeys must be 1..{n}, got {n_storeys}")
        k = np.empty(n_storeys)
        k[0] = K[0].sum()
        for i in range(1, n_storeys):
            k[i] = -K[i - 1, i]
        if np.any(k <= 0):
            raise ValueError("the model's storey stiffnesses must be positive: not a shear chain")
        G = storey_patterns(n_storeys, n)
        return cls(M=M, K_rest=K - np.einsum("i,ijk->jk", k, G), storey_k=k, G=G)

    @property
    def n_storeys(self) -> int:
        return self.storey_k.size

    def stiffness(self, theta: np.ndarray) -> np.ndarray:
        return self.K_rest + np.einsum("i,ijk->jk", self.storey_k * (1.0 + theta), self.G)

    def eig(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (ascending, rad^2/s^2) and mass-normalised shapes at theta."""
        return scipy.linalg.eigh(self.stiffness(theta), self.M)

    def frequencies_hz(self, theta: np.ndarray | None = None) -> np.ndarray:
        lam, _ = self.eig(np.zeros(self.n_storeys) if theta is None else theta)
        return np.sqrt(np.clip(lam, 0.0, None)) / (2 * np.pi)

    def jacobian_hz(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f(theta) (n,) and df/dtheta (n, N) from the exact eigenproblem at theta."""
        lam, phi = self.eig(theta)
        lam = np.clip(lam, 1e-12, None)
        f = np.sqrt(lam) / (2 * np.pi)
        # d lambda_r / d theta_i = k_i phi_r^T G_i phi_r ;  df = f / (2 lambda) d lambda
        dlam = np.einsum("i,ijk,jr,kr->ri", self.storey_k, self.G, phi, phi)
        return f, dlam * (f / (2 * lam))[:, None]


@dataclass(frozen=True)
class Localisation:
    """The verdict of one fit: 'none', 'storeys' (the significant ones), 'changed' (a departure
    no one storey stands out in), 'unexplained' or 'insufficient' (fewer modes than storeys)."""

    verdict: str
    change: np.ndarray  # (N,) relative stiffness change of each storey
    ci95: np.ndarray  # (N,) 95 % half-width
    significant: tuple[bool, ...]
    chi2_departure: float
    chi2_residual: float
    dof_residual: int
    modes_used: int
    iterations: int

    @property
    def storeys(self) -> tuple[int, ...]:
        """1-based storeys whose change is significant."""
        return tuple(i + 1 for i, s in enumerate(self.significant) if s)

    @property
    def key(self) -> tuple:
        """What persistence compares between updates."""
        return ("storeys", self.storeys) if self.verdict == "storeys" else (self.verdict,)

    def rows(self) -> list[dict]:
        """`monitor --json`'s localisation: the significant storeys (every storey when
        unexplained is not the verdict and none is significant: an empty list)."""
        return [{"storey": i + 1, "change_percent": round(100 * float(self.change[i]), 3),
                 "ci95_percent": round(100 * float(self.ci95[i]), 3)}
                for i, s in enumerate(self.significant) if s]

    def message(self) -> str:
        if self.verdict == "changed":
            return ("frequencies departed from the baseline (chi2 "
                    f"{self.chi2_departure:.1f} on {self.modes_used} modes); no one storey "
                    "stands out")
        if self.verdict == "unexplained":
            return ("frequency change that no storey stiffness explains (mass change or "
                    f"sensor fault?): chi2 {self.chi2_residual:.1f} on {self.dof_residual} dof")
        return "; ".join(f"storey {i + 1} stiffness {100 * self.change[i]:+.0f} % +- "
                         f"{max(100 * self.ci95[i], 0.5):.0f} %"
                         for i, s in enumerate(self.significant) if s)


def localise(model: StoreyModel, f_hz, sigma_hz, bias=None, alpha: float = ALPHA,
             min_change: float = MIN_CHANGE) -> Localisation:
    """Fit storey stiffness changes to tracked frequencies f_hz (model's mode order; NaN =
    not tracked) with standard errors sigma_hz. `bias` (n,): the tracker's relative bias on
    this model, f_tracked = f_model (1 + bias) when nothing changed."""
    f = np.asarray(f_hz, dtype=float)
    s = np.asarray(sigma_hz, dtype=float)
    n_st = model.n_storeys
    b = np.zeros(f.size) if bias is None else np.asarray(bias, dtype=float)
    use = np.isfinite(f) & np.isfinite(s) & (s > 0)
    m = int(use.sum())
    theta = np.zeros(n_st)
    f0, J = model.jacobian_hz(theta)
    scale = (1.0 + b)[use]
    r0 = (f[use] - f0[use] * scale) / s[use]
    chi2_0 = float(r0 @ r0)
    nan = np.full(n_st, np.nan)
    if m < n_st:  # too few modes to tell the storeys apart
        return Localisation("insufficient", nan, nan, (False,) * n_st, chi2_0, np.nan,
                            m - n_st, m, 0)
    theta, chi2_r, A, it = _gauss_newton(model, f, s, scale, use, np.arange(n_st))
    cov = np.linalg.pinv(A.T @ A)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    ci95 = scipy.stats.norm.ppf(0.975) * se
    dof = m - n_st
    if chi2_0 <= scipy.stats.chi2.ppf(1 - alpha, m):
        return Localisation("none", theta, ci95, (False,) * n_st, chi2_0, chi2_r, dof, m, it)
    if dof > 0 and chi2_r > scipy.stats.chi2.ppf(1 - alpha, dof):
        return Localisation("unexplained", theta, ci95, (False,) * n_st, chi2_0, chi2_r, dof,
                            m, it)
    z = scipy.stats.norm.ppf(1 - alpha / (2 * n_st))
    sig = tuple(bool(abs(theta[i]) > z * se[i] and abs(theta[i]) >= min_change)
                for i in range(n_st))
    signs = {bool(theta[i] > 0) for i in range(n_st) if sig[i]}
    if len(signs) > 1:
        # one storey stiffer and another softer at once: what a mass change on a floor
        # looks like through the storeys around it, not a damage pattern
        return Localisation("unexplained", theta, ci95, (False,) * n_st, chi2_0, chi2_r, dof,
                            m, it)
    if any(sig):
        return Localisation("storeys", theta, ci95, sig, chi2_0, chi2_r, dof, m, it)
    return _one_storey(model, f, s, scale, use, chi2_0, alpha, min_change, z)


def _gauss_newton(model: StoreyModel, f, s, scale, use, free: np.ndarray):
    """Weighted least squares of the storeys `free` (the others held at 0) on the exact
    eigenproblem: Gauss-Newton with step halving, so that a step never raises chi^2 (with
    weakly determined storeys a full step can overshoot into a worse fit).
    theta (N,), chi^2, the weighted Jacobian at theta (m, len(free)), iterations."""
    theta = np.zeros(model.n_storeys)

    def at(th):
        fp, J = model.jacobian_hz(th)
        r = (f[use] - fp[use] * scale) / s[use]
        return float(r @ r), r, J[use][:, free] * (scale / s[use])[:, None]

    chi2, r, A = at(theta)
    it = 0
    for it in range(1, GN_MAX_ITER + 1):
        step, *_ = np.linalg.lstsq(A, r, rcond=None)
        # never let a storey lose all its stiffness within one step
        step = np.maximum(step, -0.5 * (1.0 + theta[free]))
        for _ in range(20):
            trial = theta.copy()
            trial[free] += step
            chi2_t, r_t, A_t = at(trial)
            if chi2_t <= chi2 * (1 + 1e-12):
                break
            step = step / 2
        else:
            break  # no step lowers chi^2: at the minimum to within rounding
        theta, chi2, r, A = trial, chi2_t, r_t, A_t
        if np.max(np.abs(step)) < GN_TOL:
            break
    return theta, chi2, A, it


def _one_storey(model: StoreyModel, f, s, scale, use, chi2_0: float, alpha: float,
                min_change: float, z: float) -> Localisation:
    """The frequencies departed but the N-storey fit names no storey: the modes that carry
    the change are too few or too uncertain to separate N storeys at once (a building whose
    high, heavily damped modes scatter by several %). Then the single-change hypothesis
    (Cawley and Adams): fit each storey alone; the storey that alone explains the departure
    (residual chi^2 on m - 1 dof) and explains it decisively better than every other storey
    (a likelihood ratio of at least DECISIVE: Jeffreys' 'decisive' evidence) is named; a
    departure that several storeys explain equally is
    'changed' (real, not localised); one that no storey explains alone is 'unexplained'."""
    n_st = model.n_storeys
    m = int(use.sum())
    fits = []
    for i in range(n_st):
        theta, chi2, a, it = _gauss_newton(model, f, s, scale, use, np.array([i]))
        fits.append((chi2, theta, 1.0 / np.sqrt(float(a[:, 0] @ a[:, 0])), it))
    chi2s = np.array([c for c, *_ in fits])
    best = int(np.argmin(chi2s))
    chi2_r, theta, se, it = fits[best]
    ci95 = np.full(n_st, np.nan)
    ci95[best] = scipy.stats.norm.ppf(0.975) * se
    dof = m - 1
    none = (False,) * n_st
    if chi2_r > scipy.stats.chi2.ppf(1 - alpha, dof):
        return Localisation("unexplained", theta, ci95, none, chi2_0, chi2_r, dof, m, it)
    others = np.delete(chi2s, best)
    clear = bool(np.all(others - chi2_r > 2.0 * np.log(DECISIVE)))
    change = theta[best]
    if clear and abs(change) > z * se and abs(change) >= min_change:
        sig = tuple(i == best for i in range(n_st))
        return Localisation("storeys", theta, ci95, sig, chi2_0, chi2_r, dof, m, it)
    return Localisation("changed", theta, ci95, none, chi2_0, chi2_r, dof, m, it)


@dataclass
class DamageMonitor:
    """Localisation on every tracker update, with learned scatter and k-of-n persistence.

    The first `learn_updates` updates with every mode tracked are taken as undamaged: their
    per-mode standard deviation is the scatter sigma_r (at least `sigma_floor` relative, and
    scaled by `sigma_scale`: successive updates share most of their window, so a minute of
    them holds few independent ones), their median the tracker's bias on this model (within
    +-`bias_max`: a larger one means the model is not this structure). Then an alarm stands when at least k of the last n updates name the same
    storeys, or the last `unexplained_k` updates are all 'unexplained'; it clears when k of the
    last n say 'none'."""

    model: StoreyModel
    learn_updates: int = 60
    k: int = 3
    n: int = 5
    # a window that straddles a change holds two structures and fits none: "unexplained"
    # alarms only once it has lasted longer than a tracker window (in updates)
    unexplained_k: int = 12
    alpha: float = ALPHA
    min_change: float = MIN_CHANGE
    bias_max: float = 0.2
    sigma_floor: float = 5e-4
    sigma_scale: float = 1.5
    sigma_hz: np.ndarray | None = None
    bias: np.ndarray | None = None
    latest: Localisation | None = None
    alarm: Localisation | None = None
    updates: int = 0
    _learn: list = field(default_factory=list)
    _recent: deque = field(default_factory=deque)

    @property
    def learning(self) -> bool:
        return self.sigma_hz is None

    def update(self, f_hz) -> Localisation | None:
        """Take one tracker update (model's mode order, NaN = not tracked); the fit, or None
        while learning."""
        f = np.asarray(f_hz, dtype=float)
        self.updates += 1
        if self.sigma_hz is None:
            if np.all(np.isfinite(f)):
                self._learn.append(f)
            if len(self._learn) >= self.learn_updates:
                X = np.array(self._learn)
                f0 = self.model.frequencies_hz()
                self.bias = np.clip(np.median(X, axis=0) / f0 - 1.0, -self.bias_max,
                                    self.bias_max)
                self.sigma_hz = self.sigma_scale * np.maximum(X.std(axis=0, ddof=1),
                                                              self.sigma_floor * f0)
            return None
        loc = localise(self.model, f, self.sigma_hz, self.bias, self.alpha, self.min_change)
        self.latest = loc
        self._recent.append(loc)
        while len(self._recent) > max(self.n, self.unexplained_k):
            self._recent.popleft()
        keys = [x.key for x in self._recent][-self.n:]
        recent_unexplained = [x.verdict for x in self._recent][-self.unexplained_k:]
        if loc.verdict in ("storeys", "changed") and keys.count(loc.key) >= self.k:
            # a standing storey alarm stays named while the updates only say 'changed': the
            # same departure, less sharply resolved
            if not (loc.verdict == "changed" and self.alarm is not None
                    and self.alarm.verdict == "storeys"):
                self.alarm = loc
        elif (loc.verdict == "unexplained" and len(recent_unexplained) == self.unexplained_k
              and all(v == "unexplained" for v in recent_unexplained)):
            self.alarm = loc
        elif self.alarm is not None and keys.count(("none",)) >= self.k:
            self.alarm = None
        elif self.alarm is not None and loc.key == self.alarm.key:
            self.alarm = loc  # the standing alarm, with the newest numbers
        return loc
