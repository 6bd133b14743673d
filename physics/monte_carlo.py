"""Monte Carlo time histories of a chain structure: independent parameter draws, exact stepping.

Each parameter group (masses, stiffnesses, dampings, initial displacements, initial velocities,
random excitation) draws from its own numpy Generator, spawned from one SeedSequence, so the
groups are statistically independent (Cristallo seeded every group with 10, which made their
standard-normal draws identical). Physical parameters are drawn from a normal distribution
truncated to positive values (zero allowed for damping) by redrawing the rejected samples.

Each scenario is stepped with the exact first-order-hold discretisation (physics/lti.py): a
pulse resolved by the grid can never be stepped over, unlike an adaptive integrator that starts
from rest (Cristallo's LSODA).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin3d.physics.response import Response, linear_response
from twin3d.physics.structure import LinearModel

GROUPS = ("mass", "stiffness", "damping", "x0", "v0", "excitation")


def generators(seed: int) -> dict[str, np.random.Generator]:
    """One independent Generator per parameter group, spawned from SeedSequence(seed)."""
    seqs = np.random.SeedSequence(seed).spawn(len(GROUPS))
    return {g: np.random.default_rng(s) for g, s in zip(GROUPS, seqs)}


def truncated_normal(rng: np.random.Generator, mean: np.ndarray, sd: float, n: int,
                     allow_zero: bool = False, max_rounds: int = 100) -> np.ndarray:
    """(n, len(mean)) draws of N(mean, sd^2) kept > 0 (>= 0 with allow_zero) by redrawing."""
    mean = np.asarray(mean, dtype=np.float64)
    out = mean + sd * rng.standard_normal((n, mean.size))
    for _ in range(max_rounds):
        bad = out < 0 if allow_zero else out <= 0
        if not bad.any():
            return out
        out[bad] = (mean + sd * rng.standard_normal((n, mean.size)))[bad]
    raise ValueError(f"dispersion {sd:g} is too wide for the means {mean.tolist()}: "
                     "positive values are too rare to draw")


@dataclass(frozen=True)
class Scenarios:
    mass: np.ndarray  # (n, N) kg
    stiffness: np.ndarray  # (n, N) N/m
    damping: np.ndarray  # (n, N) N s/m
    x0: np.ndarray  # (n, 2N) initial [u, u']


def draw_scenarios(mass, stiffness, damping, u0, v0, sd: dict[str, float], n: int,
                   gens: dict[str, np.random.Generator]) -> Scenarios:
    """n scenarios around the nominal storey values; sd holds absolute standard deviations."""
    m = truncated_normal(gens["mass"], mass, sd.get("mass", 0.0), n)
    k = truncated_normal(gens["stiffness"], stiffness, sd.get("stiffness", 0.0), n)
    c = truncated_normal(gens["damping"], damping, sd.get("damping", 0.0), n, allow_zero=True)
    u = np.asarray(u0, float) + sd.get("x0", 0.0) * gens["x0"].standard_normal((n, len(mass)))
    v = np.asarray(v0, float) + sd.get("v0", 0.0) * gens["v0"].standard_normal((n, len(mass)))
    return Scenarios(m, k, c, np.hstack([u, v]))


def oversampled_response(model: LinearModel, dt: float, n_out: int, every: int,
                         forces=None, base_acc=None, x0=None) -> Response:
    """Exact response on a grid `every` times finer than the output, sampled every `every`.

    forces / base_acc are given on the fine grid ((n_out - 1) * every + 1 samples): an analytic
    input (a pulse, a sine) is then followed closely, since the hold between samples is linear.
    """
    n_fine = (n_out - 1) * every + 1
    r = linear_response(model, dt / every, n_fine, forces=forces, base_acc=base_acc, x0=x0)
    return Response(r.t[::every], r.u[::every], r.v[::every], r.a_abs[::every])


def monte_carlo(scen: Scenarios, dt: float, n_out: int, every: int, forces=None,
                base_acc=None, damping_matrix: np.ndarray | None = None,
                progress: Callable[[int], None] | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> list[Response] | None:
    """Responses of every scenario (None if cancelled); progress(i) after scenario i.

    damping_matrix: a fixed C for every scenario (a profile whose damping is not a chain,
    e.g. Rayleigh), instead of the chain of the drawn storey dampings."""
    out = []
    for i in range(scen.mass.shape[0]):
        if cancelled():
            return None
        model = LinearModel.chain(scen.mass[i], scen.stiffness[i], scen.damping[i])
        if damping_matrix is not None:
            model = LinearModel(model.M, damping_matrix, model.K)
        out.append(oversampled_response(model, dt, n_out, every, forces, base_acc, scen.x0[i]))
        if progress is not None:
            progress(i)
    return out
