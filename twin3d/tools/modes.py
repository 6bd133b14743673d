"""modes: natural frequencies, damping ratios and mode shapes of a profile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.physics import shear_frame
from twin3d.scenefile.schema import spec
from twin3d.tools import Context, Plot

NAME = "modes"
SUMMARY = "natural frequencies, damping ratios and mass-normalised mode shapes of a profile"


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("", doc="profile of the scene file (empty: the active model)")
    frf_floor: int = spec(1, lo=1, hi=20, doc="floor whose FRF to the scene's input (base "
                          "acceleration, or the force of [excitation]) is plotted")
    f_max_hz: float = spec(40.0, unit="Hz", lo=1.0, hi=1000.0, doc="upper end of the FRF plot")


@dataclass(frozen=True)
class Result:
    profile: str
    frequencies_hz: np.ndarray
    damping_ratios: np.ndarray
    shapes: np.ndarray  # (modes, floors; base first when it is a DOF), mass-normalised
    frequency_hz: np.ndarray
    frf_db: np.ndarray  # floor acceleration / the scene's input (base acceleration or force), dB
    input_kind: str = "base_acceleration"


EXAMPLE: dict = {}


def run(inputs: Inputs, ctx: Context) -> Result:
    scene = ctx.get_scene()
    name = ctx.profile(inputs.profile)
    model = scene.model(name)
    loading = scene.loading()  # on a base that is a DOF the modes are those of frame and base
    modes = shear_frame.modes(model, loading)
    floor = min(inputs.frf_floor, model.n)
    f = np.linspace(0.2, inputs.f_max_hz, 800)
    # absolute floor acceleration per unit input: the transmissibility an accelerometer sees
    # under base acceleration, the accelerance under a force (column 0 is the base)
    h = shear_frame.frf(model, loading, f)[:, floor]
    return Result(profile=name, frequencies_hz=modes.frequencies_hz,
                  damping_ratios=modes.damping_ratios, shapes=modes.shapes.T,
                  frequency_hz=f, frf_db=20 * np.log10(np.abs(h)), input_kind=loading.kind)


def summary(r: Result) -> list[str]:
    return [f"mode {i}: {f:.3f} Hz, " + (f"zeta {100 * z:.2f} %" if np.isfinite(z) else
                                          "rigid body (free base)")
            for i, (f, z) in enumerate(zip(r.frequencies_hz, r.damping_ratios), 1)]


def plots(r: Result) -> list[Plot]:
    title = "base-to-floor FRF" if r.input_kind == "base_acceleration" else \
        "force-to-floor accelerance"
    return [Plot(title, r.frequency_hz, (r.frf_db,), xlabel="frequency (Hz)",
                 ylabel="magnitude (dB)")]
