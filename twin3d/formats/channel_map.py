"""The channel map: which column of a file is which sensor of the scene, with its calibration
factor and unit. Written `col=role[*factor][:unit],...`, e.g.

    0=acc_table:g, 1=acc_floor1:g, Ch3=force_floor5*0.98:kN, 1+Z=acc_floor2*-1

A column is a name in the file or a 0-based index (a name wins when a column is called "2").
The factor multiplies the file's values (a calibration, or -1 for a sensor mounted the other
way); the unit is the unit of the product (default: the file's unit, else the role's SI unit)
and is converted to SI. Roles follow the scene's sensor names: `acc_table`, `acc_floorK`,
`force_floorK`, `force_base`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twin3d.formats.errors import FormatError
from twin3d.formats.timeseries import TimeSeries
from twin3d.formats.units import ROLE, known, role_unit, to_si


@dataclass(frozen=True)
class Entry:
    column: str
    role: str
    factor: float = 1.0
    unit: str = ""  # "" : the file's unit, else the role's


@dataclass(frozen=True)
class ChannelMap:
    entries: tuple[Entry, ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str, source: str = "--map") -> ChannelMap:
        """Parse `col=role[*factor][:unit],...`; FormatError (field `map`) naming the bad part."""
        entries: list[Entry] = []
        for part in (p.strip() for p in str(text).split(",")):
            if not part:
                continue
            col, eq, rest = part.rpartition("=")
            col = col.strip()
            if not eq or not col or not rest.strip():
                raise FormatError(source, repr(part), "not col=role[*factor][:unit]")
            spec, _, unit = rest.partition(":")
            role, star, factor_s = spec.partition("*")
            role = role.strip()
            if not ROLE.fullmatch(role):
                raise FormatError(source, repr(part), f"role {role!r} is not a sensor name "
                                  "(letters, digits, _; e.g. acc_floor1)")
            factor = 1.0
            if star:
                try:
                    factor = float(factor_s)
                except ValueError:
                    raise FormatError(source, repr(part), f"factor {factor_s!r} is not a "
                                      "number") from None
                if not (math.isfinite(factor) and factor != 0):
                    raise FormatError(source, repr(part), f"factor {factor_s!r} must be "
                                      "finite and not 0")
            unit = unit.strip()
            if unit and not known(unit):
                raise FormatError(source, repr(part), f"unit {unit!r} is not one we know "
                                  "(e.g. m/s^2, g, N, kN, lbf)")
            if any(e.role == role for e in entries):
                raise FormatError(source, role, "mapped twice")
            entries.append(Entry(col, role, factor, unit))
        if not entries:
            raise FormatError(source, "map", "no columns mapped (give col=role,...)")
        return cls(tuple(entries), str(text))

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(e.role for e in self.entries)

    def column_index(self, entry: Entry, names: Sequence[str], source: str) -> int:
        """Where the entry's column is among the file's columns (by name, else by index)."""
        if entry.column in names:
            return list(names).index(entry.column)
        try:
            j = int(entry.column)
        except ValueError:
            j = -1
        if 0 <= j < len(names):
            return j
        shown = ", ".join(f"{i}={n}" for i, n in enumerate(names[:12]))
        more = f", ... ({len(names)} in all)" if len(names) > 12 else ""
        raise FormatError(source, "map", f"column {entry.column!r} (for {entry.role}) is not in "
                          f"the file (its columns: {shown}{more})")

    def apply(self, ts: TimeSeries) -> TimeSeries:
        """The mapped columns of a file's series (in the file's own units) only, named by role,
        scaled and in SI units. A unit that does not fit the role's quantity (N for acc_floor1)
        is a FormatError."""
        cols, units = [], []
        for e in self.entries:
            j = self.column_index(e, ts.names, ts.source)
            unit = e.unit or ts.units[j] or role_unit(e.role) or ""
            si, k = to_si(unit)
            want = role_unit(e.role)
            if want is not None and si != want:
                where = "map" if e.unit else f"unit of column {ts.names[j]!r}"
                what = "a force" if want == "N" else "an acceleration"
                raise FormatError(ts.source, where, f"{unit!r} does not match role {e.role} "
                                  f"({what}, in {want})")
            cols.append(ts.data[:, j] * (e.factor * k))
            units.append(si)
        data = np.column_stack(cols) if cols else np.zeros((ts.n_samples, 0))
        return ts.with_(names=self.roles, units=tuple(units), data=data)

    def check_roles(self, sensors: Mapping[str, str], scene: str, source: str = "--map") -> None:
        """Every role is a sensor of the scene (`sensors`: name -> unit), in a unit that fits."""
        for e in self.entries:
            if e.role not in sensors:
                raise FormatError(source, e.role, f"not a sensor of scene {scene} (its "
                                  f"sensors: {', '.join(sorted(sensors))})")
            want = role_unit(e.role)
            have = to_si(sensors[e.role])[0]
            if want is not None and have != want:
                raise FormatError(source, e.role, f"scene {scene} measures it in "
                                  f"{sensors[e.role]!r}, not {want}")

    def __str__(self) -> str:
        return self.text or ",".join(f"{e.column}={e.role}" for e in self.entries)
