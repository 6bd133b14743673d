"""Modal identification by circle fitting, then a least-squares update of a chain model.

Pure functions on arrays (no file I/O). The steps:

1. `find_bands`: the resonance peaks of the measured FRFs (the sum over channels of each
   channel's normalised mobility), found by prominence above `f_min_hz`, so the noise bumps at
   the low end and the anti-resonances never count; each mode's band spans a few half-power
   widths, never more than 40 % of the way to a neighbouring peak.
2. `fit_circle`: per band and channel, the circle through the mobility's Nyquist points (an
   algebraic fit refined geometrically), then the natural frequency, viscous damping ratio and
   rotation from the angle each point makes around the centre. For a viscously damped mode the
   mobility Y = jw A / (wn^2 - w^2 + 2j zeta wn w) is an exact circle, and a point's angle psi
   around the centre obeys psi0 - psi = 2 atan((w^2 - wn^2) / (2 zeta wn w)): every point of the
   band is used, so the natural frequency is not quantised to a frequency bin and the damping is
   not taken from the two bins next to the peak (Cristallo's loss factor, used as if it were a
   damping ratio, reads about twice our zeta).
3. `update_chain`: storey stiffness and damping (and the mass distribution if asked) of a chain
   that best matches the measured complex FRFs in the bands: scipy.optimize.least_squares on the
   complex log ratio log(H_model / H_measured) (log-magnitude and phase), so every mode weighs
   the same whatever its level. A sensor-calibration gain can be left free: it is eliminated in
   closed form, and then only the mass *distribution* is identifiable (scaling m, k and c
   together scales the FRF and nothing else), so the total mass is held. The fit itself is
   `physics.chain_update.fit_chain`, shared with the live calibration.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.signal

from twin3d.physics.chain_update import (ChainFit, chain_damping, chain_from_frequencies,
                                         fit_chain, wrap)
from twin3d.physics.structure import LinearModel, chain_matrix, frf, modal_analysis


def resonance_peaks(frequency_hz: np.ndarray, db: np.ndarray, n: int, f_min_hz: float = 3.0,
                    f_max_hz: float = np.inf, prominence_db: float = 6.0) -> np.ndarray:
    """Indices of the n most prominent maxima of a dB curve between f_min and f_max, sorted by
    frequency. Prominence (height above the higher of the two surrounding minima) rejects
    noise ripples and the low-frequency bumps that a "first n maxima" search would pick."""
    f = np.asarray(frequency_hz, dtype=float)
    idx = np.flatnonzero((f >= f_min_hz) & (f <= f_max_hz))
    if idx.size < 5:
        raise ValueError(f"fewer than 5 frequency points between {f_min_hz:g} and "
                         f"{f_max_hz:g} Hz")
    peaks, props = scipy.signal.find_peaks(np.asarray(db, dtype=float)[idx],
                                           prominence=prominence_db)
    if peaks.size < n:
        raise ValueError(f"found {peaks.size} resonance peaks with {prominence_db:g} dB "
                         f"prominence between {f_min_hz:g} and {min(f_max_hz, f[-1]):g} Hz, "
                         f"need {n}")
    keep = np.sort(np.argsort(props["prominences"])[::-1][:n])
    return idx[peaks[keep]]


@dataclass(frozen=True)
class Band:
    peak_hz: float  # frequency of the peak bin
    lo: int  # index range [lo, hi) of the band
    hi: int


def _mobility(f: np.ndarray, h_acc: np.ndarray) -> np.ndarray:
    return h_acc / (2j * np.pi * f[:, None])


def find_bands(frequency_hz: np.ndarray, h_acc: np.ndarray, n_modes: int,
               f_min_hz: float = 3.0, f_max_hz: float = np.inf,
               prominence_db: float = 6.0) -> list[Band]:
    """The n_modes most prominent resonances between f_min and f_max, sorted by frequency."""
    f = np.asarray(frequency_hz, dtype=float)
    y = np.abs(_mobility(f, np.asarray(h_acc).reshape(f.size, -1)))
    inside = (f >= f_min_hz) & (f <= f_max_hz)
    if inside.sum() < 5:
        raise ValueError(f"fewer than 5 frequency points between {f_min_hz:g} and "
                         f"{f_max_hz:g} Hz")
    # each channel normalised to its own maximum, so one loud channel does not hide the others
    s = np.sum(y / np.max(y[inside], axis=0), axis=1)
    db = 20 * np.log10(np.maximum(s, 1e-300))
    pk = resonance_peaks(f, db, n_modes, f_min_hz, f_max_hz, prominence_db)
    df = float(np.median(np.diff(f)))
    bands = []
    for j, p in enumerate(pk):
        # half-power half-width of the summed curve, at least one bin
        lvl = db[p] - 3.0
        a = p
        while a > 0 and db[a - 1] > lvl:
            a -= 1
        b = p
        while b < f.size - 1 and db[b + 1] > lvl:
            b += 1
        half = max(0.5 * (f[b] - f[a]), df)
        width = max(4.0 * half, 5.5 * df)
        lo_lim = f[p] - 0.4 * (f[p] - f[pk[j - 1]]) if j > 0 else f[p] - width
        hi_lim = f[p] + 0.4 * (f[pk[j + 1]] - f[p]) if j + 1 < pk.size else f[p] + width
        lo = int(np.searchsorted(f, max(f[p] - width, lo_lim, f_min_hz)))
        hi = int(np.searchsorted(f, min(f[p] + width, hi_lim), side="right"))
        bands.append(Band(float(f[p]), lo, hi))
    return bands


@dataclass(frozen=True)
class Circle:
    """One mode seen by one channel."""

    centre: complex
    radius: float
    frequency_hz: float
    damping_ratio: float
    rotation: float  # angle of the resonance point around the centre, rad
    modal_constant: float  # signed A in Y = jw A / (wn^2 - w^2 + 2j zeta wn w), 1/kg
    residual: float  # rms angle misfit, rad


def _circle_through(z: np.ndarray) -> tuple[complex, float]:
    """Least-squares circle: an algebraic (Kasa) start refined on the geometric distances."""
    x, y = z.real, z.imag
    A = np.column_stack([x, y, np.ones_like(x)])
    sol, *_ = np.linalg.lstsq(A, x * x + y * y, rcond=None)
    c0 = np.array([sol[0] / 2, sol[1] / 2])

    def res(c):
        d = np.hypot(x - c[0], y - c[1])
        return d - d.mean()

    c = scipy.optimize.least_squares(res, c0, method="lm").x
    return complex(c[0], c[1]), float(np.mean(np.hypot(x - c[0], y - c[1])))


def fit_circle(frequency_hz: np.ndarray, mobility: np.ndarray) -> Circle:
    """Circle fit of one mode in one channel (points of the band only)."""
    f = np.asarray(frequency_hz, dtype=float)
    y = np.asarray(mobility, dtype=complex)
    centre, radius = _circle_through(y)
    psi = np.angle(y - centre)
    w = 2 * np.pi * f
    def res(q):
        wn, zeta, rot = q
        return wrap(rot - psi - 2 * np.arctan((w * w - wn * wn) / (2 * zeta * wn * w)))

    # Start from the best point of a coarse grid in (wn, zeta) around the peak bin, the
    # rotation being the circular mean misfit there: a light mode spans few bins, so a local
    # start alone can slide to the bound.
    k = int(np.argmax(np.abs(y)))
    dw = float(np.median(np.diff(w)))
    best = (np.inf, None)
    for wn in w[k] + dw * np.linspace(-1.0, 1.0, 9):
        for zeta in np.geomspace(1e-4, 0.2, 24):
            a = -psi - 2 * np.arctan((w * w - wn * wn) / (2 * zeta * wn * w))
            rot = float(np.angle(np.mean(np.exp(-1j * a))))
            cost = float(np.sum(wrap(rot + a) ** 2))
            if cost < best[0]:
                best = (cost, np.array([wn, zeta, rot]))
    q0 = best[1]
    lo = np.array([w[0], 1e-5, -np.inf])
    hi = np.array([w[-1], 0.5, np.inf])
    sol = scipy.optimize.least_squares(res, np.clip(q0, lo + 1e-12, hi - 1e-12),
                                       bounds=(lo, hi), x_scale=[dw, q0[1], 0.1])
    wn, zeta, rot = sol.x
    # at resonance Y = A / (2 zeta wn): the diameter, signed by where the circle lies
    sign = 1.0 if np.cos(rot) >= 0 else -1.0
    return Circle(centre, radius, float(wn / (2 * np.pi)), float(zeta), float(wrap(rot)),
                  float(sign * 2 * radius * 2 * zeta * wn),
                  float(np.sqrt(np.mean(sol.fun ** 2))))


@dataclass(frozen=True)
class ModalId:
    bands: list[Band]
    circles: list[list[Circle]]  # [mode][channel]
    frequencies_hz: np.ndarray
    damping_ratios: np.ndarray
    driving_point: int  # 0-based channel where the force acts
    shapes: np.ndarray  # (channels, modes): from the modal constants, mass-normalised if the
    #                     FRF is calibrated: A_jr = phi_er phi_jr


def identify(frequency_hz: np.ndarray, h_acc: np.ndarray, n_modes: int | None = None,
             f_min_hz: float = 3.0, f_max_hz: float = np.inf,
             driving_point: int | None = None) -> ModalId:
    """Bands, circles, and per-mode frequency/damping averaged over channels (weighted by
    circle diameter: a channel near a node sees a small, noisy circle)."""
    f = np.asarray(frequency_hz, dtype=float)
    h = np.asarray(h_acc, dtype=complex).reshape(f.size, -1)
    n_modes = h.shape[1] if n_modes is None else n_modes
    return identify_in_bands(f, h, find_bands(f, h, n_modes, f_min_hz, f_max_hz),
                             driving_point)


def bands_around(frequency_hz: np.ndarray, h_acc: np.ndarray, modes_hz, damping_ratios
                 ) -> list[Band]:
    """A circle-fit band about each given mode (e.g. stable poles): four half-power
    half-widths (zeta f) or 5.5 bins either side, never more than 40 % of the way to a
    neighbour; its peak is the summed normalised mobility's largest bin inside."""
    f = np.asarray(frequency_hz, dtype=float)
    y = np.abs(_mobility(f, np.asarray(h_acc).reshape(f.size, -1)))
    s = np.sum(y / np.max(y, axis=0), axis=1)
    df = float(np.median(np.diff(f)))
    fn = np.asarray(modes_hz, dtype=float)
    bands = []
    for j, (fr, z) in enumerate(zip(fn, damping_ratios)):
        width = max(4.0 * z * fr, 5.5 * df)
        lo_f = max(fr - width, fr - 0.4 * (fr - fn[j - 1]) if j else -np.inf)
        hi_f = min(fr + width, fr + 0.4 * (fn[j + 1] - fr) if j + 1 < fn.size else np.inf)
        lo = int(np.searchsorted(f, lo_f))
        hi = max(int(np.searchsorted(f, hi_f, side="right")), lo + 1)
        bands.append(Band(float(f[lo + int(np.argmax(s[lo:hi]))]), lo, hi))
    return bands


def identify_in_bands(frequency_hz: np.ndarray, h_acc: np.ndarray, bands: list[Band],
                      driving_point: int | None = None) -> ModalId:
    """Circles in the given bands (see `identify`)."""
    f = np.asarray(frequency_hz, dtype=float)
    h = np.asarray(h_acc, dtype=complex).reshape(f.size, -1)
    nch = h.shape[1]
    n_modes = len(bands)
    y = _mobility(f, h)
    circles = [[fit_circle(f[b.lo:b.hi], y[b.lo:b.hi, j]) for j in range(nch)] for b in bands]
    fn = np.empty(n_modes)
    zeta = np.empty(n_modes)
    A = np.empty((nch, n_modes))
    for r, cs in enumerate(circles):
        wgt = np.array([c.radius for c in cs])
        fn[r] = np.sum(wgt * [c.frequency_hz for c in cs]) / wgt.sum()
        zeta[r] = np.sum(wgt * [c.damping_ratio for c in cs]) / wgt.sum()
        A[:, r] = [c.modal_constant for c in cs]
    if driving_point is None:
        # The driving point's modal constants phi_er^2 all share one sign; a cross point's
        # change sign from mode to mode. Ties: the largest smallest-|A| (no node there).
        agree = np.sum(np.sign(A) == np.sign(A[:, :1]), axis=1)
        cand = np.flatnonzero(agree == agree.max())
        driving_point = int(cand[np.argmax(np.min(np.abs(A[cand]), axis=1))])
    ae = A[driving_point]
    shapes = A / np.sqrt(np.abs(ae))[None, :] * np.sign(ae)[None, :]
    return ModalId(bands, circles, fn, zeta, driving_point, shapes)


# ---------------------------------------------------------------------------------------------
# Least-squares update of the chain
# ---------------------------------------------------------------------------------------------


def update_chain(frequency_hz: np.ndarray, h_acc: np.ndarray, excitation_floor: int,
                 mass_kg: np.ndarray, ident: ModalId, fit_mass: bool = False,
                 fit_gain: bool = True, band_scale: float = 2.0) -> ChainFit:
    """Least-squares chain (k, c, and m if asked) on the measured accelerance (m/s^2/N).

    excitation_floor is 1-based. The fitted points are the modal bands widened band_scale
    times about each peak (not beyond halfway to a neighbour). The start is the chain whose
    frequencies match the circle-fit ones, with damping from the circle-fit ratios.
    """
    f = np.asarray(frequency_hz, dtype=float)
    h = np.asarray(h_acc, dtype=complex).reshape(f.size, -1)
    n = h.shape[1]
    m0 = np.asarray(mass_kg, dtype=float)
    if m0.size != n:
        raise ValueError(f"{m0.size} masses for {n} FRF channels")
    pts = []
    pk = [b.peak_hz for b in ident.bands]
    for j, b in enumerate(ident.bands):
        half = band_scale * 0.5 * (f[b.hi - 1] - f[b.lo])
        lo = max(b.peak_hz - half, 0.5 * (pk[j - 1] + b.peak_hz) if j else -np.inf)
        hi = min(b.peak_hz + half, 0.5 * (pk[j + 1] + b.peak_hz) if j + 1 < len(pk) else np.inf)
        pts.append(np.flatnonzero((f >= lo) & (f <= hi)))
    pts = np.unique(np.concatenate(pts))
    fs, hs = f[pts], h[pts]
    starts = [chain_from_frequencies(m0, ident.frequencies_hz)]
    if ident.shapes.shape[1] == n:
        # the measured shapes, each scaled to unit modal mass on the given masses, give
        # K = M Phi W^2 Phi^T M: a start on the branch the shapes choose (with equal masses
        # several stiffness sets share the same three frequencies)
        phi = ident.shapes / np.sqrt(np.sum(ident.shapes ** 2 * m0[:, None], axis=0))
        K = np.diag(m0) @ phi @ np.diag((2 * np.pi * ident.frequencies_hz) ** 2) @ phi.T \
            @ np.diag(m0)
        basis = np.column_stack([chain_matrix(np.eye(n)[i]).ravel() for i in range(n)])
        ks, *_ = np.linalg.lstsq(basis, K.ravel(), rcond=None)
        if np.all(ks > 0):
            starts.append(chain_from_frequencies(m0, ident.frequencies_hz, ks))

    def response(m, k, c, f_):
        return frf(LinearModel.chain(m, k, c), f_, excitation_floor, "accelerance")

    trials = [(k0, chain_damping(m0, k0, ident.damping_ratios)) for k0 in starts]
    fit = fit_chain(fs, hs, response, m0, trials, fit_mass=fit_mass, fit_gain=fit_gain)
    return dataclasses.replace(fit, points=pts)


def model_modes(mass, stiffness, damping):
    """Natural frequencies (Hz) and damping ratios of a chain."""
    md = modal_analysis(LinearModel.chain(mass, stiffness, damping))
    return md.frequencies_hz, md.damping_ratios
