"""Time series in physical units: what every importer returns and every exporter takes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from twin3d.formats.errors import FormatError

# a time column may wobble by this fraction of a step (clock jitter, rounding in a text file)
STEP_TOLERANCE = 1e-3
FS_MAX = 1e6


@dataclass(frozen=True, eq=False)
class TimeSeries:
    """`data` (n_samples, n_channels) in SI units, sampled at `fs` Hz from `t0` s (s since the
    Unix epoch for a recording, else the file's own time origin). `names` are the file's column
    names, or roles once a channel map is applied; `units` SEP-005 unit names. `headers` keeps
    what a file says about itself (UFF 151/164 records, a recording's meta)."""

    fs: float
    t0: float
    names: tuple[str, ...]
    units: tuple[str, ...]
    data: np.ndarray
    source: str = ""
    headers: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        d = np.asarray(self.data, dtype=np.float64)
        if d.ndim == 1:
            d = d.reshape(-1, 1)
        object.__setattr__(self, "data", d)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "units", tuple(str(u) for u in self.units))
        if d.ndim != 2 or d.shape[1] != len(self.names) or len(self.units) != len(self.names):
            raise FormatError(self.source, "channels", f"{len(self.names)} names, "
                              f"{len(self.units)} units and data of shape {d.shape} disagree")
        if not (math.isfinite(self.fs) and 0 < self.fs <= FS_MAX):
            raise FormatError(self.source, "fs", f"sample rate {self.fs!r} Hz is not in "
                              f"(0, {FS_MAX:g}] Hz")

    @property
    def n_samples(self) -> int:
        return self.data.shape[0]

    def times(self) -> np.ndarray:
        """Sample times, s."""
        return self.t0 + np.arange(self.n_samples) / self.fs

    def column(self, name: str) -> np.ndarray:
        return self.data[:, self.names.index(name)]

    def with_(self, **changes) -> TimeSeries:
        return replace(self, **changes)


def fs_from_times(t: np.ndarray, source: str, field_name: str = "time") -> tuple[float, float]:
    """(fs, t0) of evenly spaced time stamps; FormatError when they are not even."""
    t = np.asarray(t, dtype=np.float64).ravel()
    if t.size < 2:
        raise FormatError(source, field_name, f"{t.size} time stamp(s): a sample rate needs two")
    if not np.all(np.isfinite(t)):
        raise FormatError(source, field_name, "a time stamp is not a number")
    dt = np.diff(t)
    span = float(t[-1] - t[0])
    step = span / (t.size - 1)
    tol = STEP_TOLERANCE * abs(step) + 1e-12 * abs(t[-1])
    if not (step > 0 and np.all(np.abs(dt - step) <= tol)):
        step = float(np.median(dt))  # uneven: judge every step against the typical one
        if not step > 0:
            raise FormatError(source, field_name, "time stamps do not increase")
    # every step is the typical one, within the jitter a clock or a text file has; the rate
    # then comes from the whole span, exact to rounding
    bad = np.abs(dt - step) > STEP_TOLERANCE * step + 1e-12 * abs(t[-1])
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(source, field_name, f"not evenly sampled: step {dt[i]:.6g} s after "
                          f"sample {i}, the usual step is {step:.6g} s ({int(bad.sum())} such "
                          "step(s))")
    # stamps since the epoch carry float64 rounding (0.24 us at 1.7e9 s): snap within it
    rel = max(1e-7, 4 * np.finfo(float).eps * float(np.max(np.abs(t))) / span)
    return snap_fs((t.size - 1) / span, rel), float(t[0])


def snap_fs(fs: float, rel: float = 5e-6) -> float:
    """A rate read from a rounded step (UFF writes the step with 6 digits: 1/1024 s becomes
    9.76563e-4 s) back to the shortest decimal within that rounding (1024 Hz, 2047.5 Hz)."""
    if not (math.isfinite(fs) and fs > 0):
        return float(fs)
    for digits in range(1, 16):
        r = round(fs, digits - 1 - math.floor(math.log10(fs)))
        if abs(r - fs) <= rel * fs:
            return float(r)
    return float(fs)


def check_fs(fs_given: float | None, fs_file: float | None, source: str) -> float:
    """The sample rate to use: the file's, or the one given when the file has none; a given rate
    that disagrees with the file's time base (by more than 0.1 %) is an error."""
    if fs_file is None:
        if fs_given is None:
            raise FormatError(source, "fs", "the file has no time base: give the sample rate "
                              "(--fs HZ, or ?fs=HZ in a source URL)")
        return float(fs_given)
    if fs_given is not None and abs(fs_given - fs_file) > 1e-3 * fs_file:
        raise FormatError(source, "fs", f"{fs_given:g} Hz given, but the file's time stamps say "
                          f"{fs_file:.6g} Hz")
    return float(fs_file)


def in_si(ts: TimeSeries) -> TimeSeries:
    """Every channel whose unit is known converted to SI (g -> m/s^2, kN -> N)."""
    from twin3d.formats.units import to_si

    conv = [to_si(u) for u in ts.units]
    if all(k == 1.0 and si == u for (si, k), u in zip(conv, ts.units)):
        return ts
    return ts.with_(units=tuple(si for si, _ in conv),
                    data=ts.data * np.array([k for _, k in conv]))
