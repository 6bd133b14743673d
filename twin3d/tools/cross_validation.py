"""cross_validation: measured vs numerical FRFs of the four prototypes, and the twin's model.

Loads every file of Cristallo's cross-validation data that exists (Swansea, Southampton,
Sheffield, Bristol; experimental and numerical, dB magnitude tables, TOOLS.md 5.2) and lists
the absent ones in `missing` instead of failing. For each curve it picks the resonance peaks
(the n most prominent maxima above f_min_hz, so the noise bumps of the Southampton measurement
below 3 Hz never count), then compares:
- experiment vs model per prototype: frequency errors per mode and FRAC (frequency response
  assurance criterion, |sum Hx Ha*|^2 / (sum |Hx|^2 sum |Ha|^2) on linear magnitudes over a
  common grid: 1 for identical curves, falling fast when the resonances are shifted);
- the spread between prototypes (per mode: mean, standard deviation and range of the peak
  frequencies of the experimental and of the numerical sets);
- the twin's active model (`model/<profile>`, accelerance at each floor to a force on floor 1,
  in dB re m/s^2/N: the scale of Cristallo's files, see model_update) against each measurement.

Known defects of the data are flagged, not hidden (TOOLS.md 13.7): Cristallo drew the
Southampton numerical file as Bristol's (here NumDataBr.csv itself is used, and `flags` says
so), and NumDataSh.csv is NumDataSw.csv with its frequency axes shifted (detected from the
data, not assumed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.tools._frf_files import asset, read_db_table
from twin3d.physics.circle_fit import resonance_peaks
from twin3d.physics.structure import frf
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Cancelled, Context, Plot

NAME = "cross_validation"
SUMMARY = ("measured vs numerical FRFs of the four prototypes: peaks, frequency errors, FRAC, "
           "spread between prototypes, and the twin's model")

PROTOTYPES = {"swansea": "Sw", "southampton": "So", "sheffield": "Sh", "bristol": "Br"}
KINDS = {"experimental": ("Experimental Data", "ExpData"),
         "numerical": ("Numerical Data", "NumData")}


@dataclass(frozen=True, kw_only=True)
class Inputs:
    data_folder: str = spec("", doc="folder with 'Experimental Data/ExpData<Sw|So|Sh|Br>.csv' "
                            "and 'Numerical Data/NumData<..>.csv' (empty: the shipped files)")
    profile: str = spec("", doc="the twin's model to compare (empty: the active model)")
    floor: int = spec(1, lo=1, hi=3, doc="floor whose curves are plotted")
    f_min_hz: float = spec(3.0, unit="Hz", lo=0.0, hi=100.0,
                           doc="lowest frequency compared (noise bumps lie below)")
    f_max_hz: float = spec(40.0, unit="Hz", lo=5.0, hi=100.0, doc="highest frequency compared")
    prominence_db: float = spec(6.0, unit="dB", lo=0.5, hi=60.0, doc="peak prominence")
    grid_step_hz: float = spec(0.01, unit="Hz", lo=0.001, hi=0.5,
                               doc="common frequency grid for FRAC and the plots")


@dataclass(frozen=True)
class Result:
    loaded: list  # keys kind/prototype
    missing: list  # one line per absent or unreadable file
    flags: list  # data defects found
    peaks_hz: dict  # key -> floor-1 peaks (Hz); also model/<profile>
    peaks_by_floor_hz: dict  # key -> (floors, modes)
    frequency_errors: dict  # "<a> vs <b>" -> relative errors per mode (a / b - 1)
    frac: dict  # "<a> vs <b>" -> FRAC per floor
    spread: dict  # kind -> {"mean_hz", "std_hz", "range_hz"} per mode over prototypes
    frequency_hz: np.ndarray  # common grid
    curves_db: dict  # key -> (floors, grid) dB, NaN outside a file's range
    floor: int  # plotted floor


EXAMPLE: dict = {"f_max_hz": 40.0}


def _interp(f, db, grid):
    return np.interp(grid, f, db, left=np.nan, right=np.nan)


def _frac(a_db, b_db):
    ok = np.isfinite(a_db) & np.isfinite(b_db)
    if ok.sum() < 10:
        return np.nan
    a, b = 10 ** (a_db[ok] / 20), 10 ** (b_db[ok] / 20)
    return float(np.dot(a, b) ** 2 / (np.dot(a, a) * np.dot(b, b)))


def run(inputs: Inputs, ctx: Context) -> Result:
    folder = Path(inputs.data_folder) if inputs.data_folder else asset("dtLib/crossval/Data")
    if inputs.data_folder and not folder.is_dir():
        raise SchemaError("cross_validation", "data_folder", "no such folder", str(folder))
    if inputs.f_max_hz <= inputs.f_min_hz + 1:
        raise SchemaError("cross_validation", "f_max_hz", "must exceed f_min_hz by 1 Hz",
                          inputs.f_max_hz, f"> {inputs.f_min_hz + 1:g} Hz")
    grid = np.arange(inputs.f_min_hz, inputs.f_max_hz + 1e-9, inputs.grid_step_hz)
    tables, missing, flags = {}, [], []
    jobs = [(k, p) for k in KINDS for p in PROTOTYPES]
    for i, (kind, proto) in enumerate(jobs):
        if ctx.cancelled():
            raise Cancelled(NAME)
        ctx.report(0.8 * i / len(jobs), f"reading {kind}/{proto}")
        sub, stem = KINDS[kind]
        path = folder / sub / f"{stem}{PROTOTYPES[proto]}.csv"
        try:
            tables[f"{kind}/{proto}"] = read_db_table(path)
        except SchemaError as e:  # absent or unreadable: say which and why, carry on
            missing.append(str(e))
    if "numerical/bristol" in tables:
        flags.append("numerical/bristol is NumDataBr.csv; Cristallo drew the Southampton "
                     "numerical file (NumDataSo.csv) in its place (TOOLS.md 13.7)")
    sw, sh = tables.get("numerical/swansea"), tables.get("numerical/sheffield")
    if sw is not None and sh is not None and len(sw.db[0]) == len(sh.db[0]) and all(
            np.array_equal(a, b) for a, b in zip(sw.db, sh.db)):
        shift = [float(np.median(b - a)) for a, b in zip(sw.frequency_hz, sh.frequency_hz)]
        flags.append("numerical/sheffield has the dB values of numerical/swansea with the "
                     f"frequency axes shifted by {shift[0]:+.3f} Hz (floor 2: {shift[1]:+.3f} "
                     "Hz): not an independent model")

    peaks, peaks_floor, curves = {}, {}, {}
    lo, hi, prom = inputs.f_min_hz, inputs.f_max_hz, inputs.prominence_db
    for key, t in tables.items():
        try:
            pf = [f[resonance_peaks(f, db, 3, lo, hi, prom)] for f, db in
                  zip(t.frequency_hz, t.db)]
        except ValueError as e:
            missing.append(f"{t.path}: {e}")
            continue
        peaks_floor[key] = np.array(pf)
        peaks[key] = peaks_floor[key][0]
        curves[key] = np.array([_interp(f, db, grid) for f, db in zip(t.frequency_hz, t.db)])

    scene = ctx.get_scene()
    name = ctx.profile(inputs.profile)
    model = scene.model(name)
    mkey = f"model/{name}"
    mdb = 20 * np.log10(np.abs(frf(model, grid, 1, "accelerance"))).T
    curves[mkey] = mdb[:3]
    try:
        peaks_floor[mkey] = np.array([grid[resonance_peaks(grid, d, min(3, model.n), lo, hi,
                                                           prom)] for d in mdb[:3]])
        peaks[mkey] = peaks_floor[mkey][0]
    except ValueError as e:
        flags.append(f"{mkey}: {e}")
    ctx.report(0.9, "comparing")

    errors, frac = {}, {}

    def compare(a, b):
        if a in peaks and b in peaks and peaks[a].size == peaks[b].size:
            errors[f"{a} vs {b}"] = peaks[a] / peaks[b] - 1
        if a in curves and b in curves:
            frac[f"{a} vs {b}"] = np.array([_frac(x, y) for x, y in zip(curves[a], curves[b])])

    for proto in PROTOTYPES:
        compare(f"numerical/{proto}", f"experimental/{proto}")
        compare(mkey, f"experimental/{proto}")
    exps = [f"experimental/{p}" for p in PROTOTYPES if f"experimental/{p}" in peaks]
    for i, a in enumerate(exps):
        for b in exps[i + 1:]:
            compare(a, b)

    spread = {}
    for kind in KINDS:
        sets = [peaks[f"{kind}/{p}"] for p in PROTOTYPES if f"{kind}/{p}" in peaks]
        if len(sets) >= 2:
            s = np.array(sets)
            spread[kind] = {"prototypes": len(sets), "mean_hz": s.mean(0), "std_hz": s.std(0),
                            "range_hz": s.max(0) - s.min(0)}
    ctx.report(1.0, "done")
    return Result(loaded=sorted(tables), missing=missing, flags=flags, peaks_hz=peaks,
                  peaks_by_floor_hz=peaks_floor, frequency_errors=errors, frac=frac,
                  spread=spread, frequency_hz=grid, curves_db=curves,
                  floor=inputs.floor)


def summary(r: Result) -> list[str]:
    lines = [f"{k}: " + ", ".join(f"{v:.3f}" for v in p) + " Hz" for k, p in r.peaks_hz.items()]
    for k, e in r.frequency_errors.items():
        fr = r.frac.get(k)
        lines.append(f"{k}: errors " + ", ".join(f"{100 * v:+.1f} %" for v in e)
                     + (f"; FRAC floor 1 {fr[0]:.3f}" if fr is not None else ""))
    lines += [f"missing: {m}" for m in r.missing] + [f"flag: {f}" for f in r.flags]
    return lines


def plots(r: Result) -> list[Plot]:
    floor = r.floor
    i = floor - 1
    x = r.frequency_hz
    out = []
    model = [k for k in r.curves_db if k.startswith("model/")]
    for p in PROTOTYPES:
        keys = [k for k in (f"experimental/{p}", f"numerical/{p}") if k in r.curves_db]
        if keys:
            keys += model
            out.append(Plot(f"{p}: experiment vs model, floor {floor}", x,
                            tuple(r.curves_db[k][i] for k in keys), tuple(keys),
                            xlabel="frequency (Hz)", ylabel="accelerance (dB)"))
    for kind in KINDS:
        keys = [f"{kind}/{p}" for p in PROTOTYPES if f"{kind}/{p}" in r.curves_db]
        if keys:
            out.append(Plot(f"{kind} FRFs of the prototypes, floor {floor}", x,
                            tuple(r.curves_db[k][i] for k in keys + model),
                            tuple(keys + model), xlabel="frequency (Hz)",
                            ylabel="accelerance (dB)"))
    return out
