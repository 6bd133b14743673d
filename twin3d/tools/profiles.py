"""profiles: compare up to three model profiles, and save a profile to the user's store.

Cristallo's Profile Compare (TOOLS.md 9) with its quirks fixed (13.11): one profile format
(`profile_store` JSON or the scene's own), FRFs computed from each model instead of read from
files found by name-mangling, every mode shape normalised the same way (largest |entry| = +1;
no profile is sign-flipped), and no fallback model: a bad profile is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.scenefile import profiles as profile_store
from twin3d.physics.structure import LinearModel, frf, modal_analysis
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Context, Plot

NAME = "profiles"
SUMMARY = "frequencies, damping, FRFs and mode shapes of up to three profiles side by side"


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("", doc="alias of profile_a (the common tool contract)")
    profile_a: str = spec("", doc="first profile (empty: `profile`, else the active model)")
    profile_b: str = spec("", doc="second profile (empty: none)")
    profile_c: str = spec("", doc="third profile (empty: none)")
    frf_floor: int = spec(3, lo=1, hi=20, doc="floor whose base-excited FRF is overlaid")
    f_min_hz: float = spec(2.0, unit="Hz", lo=0.01, hi=1000.0)
    f_max_hz: float = spec(40.0, unit="Hz", lo=0.1, hi=1000.0)
    n_points: int = spec(800, lo=10, hi=20000)
    save_as: str = spec("", doc="save the first profile (a chain model) under this name in "
                        "the user's profile folder")


@dataclass(frozen=True)
class Result:
    names: list[str]
    frequencies_hz: np.ndarray  # (profiles, modes)
    damping_ratios: np.ndarray  # (profiles, modes)
    shapes: np.ndarray  # (profiles, modes, floors), largest |entry| = +1 per mode
    frequency_hz: np.ndarray
    frf_db: np.ndarray  # (profiles, n_points): floor acceleration / base acceleration, dB
    table: list[dict]  # one row per profile and mode
    saved_path: str


EXAMPLE: dict = {"profile_a": "southampton_identified", "profile_b": "blueprint_beam",
                 "profile_c": "soton_beam"}


def normalised_shapes(shapes: np.ndarray) -> np.ndarray:
    """Columns scaled to largest |entry| = 1, that entry positive: one convention for all."""
    out = np.array(shapes, dtype=float)
    for r in range(out.shape[1]):
        out[:, r] /= out[np.argmax(np.abs(out[:, r])), r]
    return out


def chain_values(model: LinearModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Storey mass, stiffness and damping of a chain model (raises if it is not one)."""
    def storeys(A: np.ndarray) -> np.ndarray:
        n = A.shape[0]
        a = np.empty(n)
        a[n - 1] = A[n - 1, n - 1]
        for i in range(n - 1):
            a[i + 1] = -A[i, i + 1]
        a[0] = A[0, 0] - (a[1] if n > 1 else 0.0)
        from twin3d.physics.structure import chain_matrix
        if not np.allclose(chain_matrix(a), A, rtol=1e-9, atol=1e-12 * np.abs(A).max()):
            raise ValueError("not a chain")
        return a

    if not np.allclose(model.M, np.diag(np.diag(model.M))):
        raise ValueError("mass matrix not diagonal")
    return np.diag(model.M).copy(), storeys(model.K), storeys(model.C)


def run(inputs: Inputs, ctx: Context) -> Result:
    scene = ctx.get_scene()
    first = inputs.profile_a or inputs.profile or scene.data.model.active
    names = [first] + [n for n in (inputs.profile_b, inputs.profile_c) if n]
    known = scene.data.profiles
    for field, name in zip(("profile_a", "profile_b", "profile_c"), names):
        if name not in known:
            raise SchemaError("profiles", field, "no such profile", name,
                              ", ".join(sorted(known)))
    f = np.linspace(inputs.f_min_hz, max(inputs.f_max_hz, inputs.f_min_hz * 1.01),
                    inputs.n_points)
    freqs, zetas, shapes, frfs, table = [], [], [], [], []
    floor = min(inputs.frf_floor, scene.n_storeys)
    for name in names:
        model = scene.model(name)
        modes = modal_analysis(model)
        freqs.append(modes.frequencies_hz)
        zetas.append(modes.damping_ratios)
        shapes.append(normalised_shapes(modes.shapes).T)
        h = frf(model, f, excitation="base", output="accelerance")[:, floor - 1]
        frfs.append(20 * np.log10(np.abs(h)))
        table += [{"profile": name, "mode": r + 1, "frequency_hz": float(fr),
                   "damping_ratio": float(z), "source": known[name].source}
                  for r, (fr, z) in enumerate(zip(modes.frequencies_hz, modes.damping_ratios))]
    saved = ""
    if inputs.save_as:
        try:
            m, k, c = chain_values(scene.model(first))
        except ValueError:
            raise SchemaError("profiles", "save_as", "only a chain model can be saved (this "
                              "profile's damping is not storey-by-storey)", first) from None
        saved = str(profile_store.save(
            inputs.save_as, m, k, c, source=f"copy of {first}: {known[first].source}",
            provenance={"tool": NAME, "scene": scene.data.name, "from_profile": first}))
    return Result(names=names, frequencies_hz=np.array(freqs), damping_ratios=np.array(zetas),
                  shapes=np.array(shapes), frequency_hz=f, frf_db=np.array(frfs), table=table,
                  saved_path=saved)


def summary(r: Result) -> list[str]:
    lines = [f"{row['profile']:<28} mode {row['mode']}: {row['frequency_hz']:8.3f} Hz, "
             f"zeta {100 * row['damping_ratio']:.3f} %" for row in r.table]
    if r.saved_path:
        lines.append(f"saved {r.saved_path}")
    return lines


def plots(r: Result) -> list[Plot]:
    out = [Plot("base-to-floor FRF", r.frequency_hz, tuple(r.frf_db), tuple(r.names),
                xlabel="frequency (Hz)", ylabel="magnitude (dB)")]
    floors = np.arange(r.shapes.shape[2] + 1, dtype=float)  # 0 = the table
    for mode in range(r.shapes.shape[1]):
        ys = tuple(np.concatenate([[0.0], s[mode]]) for s in r.shapes)
        out.append(Plot(f"mode {mode + 1}", floors, ys, tuple(r.names), xlabel="floor",
                        ylabel="shape (largest = 1)"))
    return out
