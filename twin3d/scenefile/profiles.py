"""User-saved model profiles: one JSON file per profile, with units and provenance.

Folder: $TWIN3D_PROFILES_DIR, else ~/.local/share/twin3d/profiles. One format (Cristallo had a
CSV and a JSON one, TOOLS.md 9): a chain profile, storey values from floor 1 to N,

    {"format": "twin3d-profile", "version": 1, "name": ..., "kind": "chain",
     "units": {"mass_kg": "kg", "stiffness_n_per_m": "N/m", "damping_ns_per_m": "N s/m"},
     "mass_kg": [...], "stiffness_n_per_m": [...], "damping_ns_per_m": [...],
     "source": "...", "provenance": {"saved_utc": "...", ...}}

A bad or missing file is a one-line SchemaError, never a fallback model (Cristallo silently
used k = 4000 N/m).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from twin3d.scenefile.records import Profile, Scene, load_scene
from twin3d.scenefile.schema import SchemaError, build

FORMAT = "twin3d-profile"
UNITS = {"mass_kg": "kg", "stiffness_n_per_m": "N/m", "damping_ns_per_m": "N s/m"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def profiles_dir() -> Path:
    env = os.environ.get("TWIN3D_PROFILES_DIR")
    return Path(env).expanduser() if env else Path.home() / ".local/share/twin3d/profiles"


def _path(name: str) -> Path:
    if not _NAME.match(name or ""):
        raise SchemaError("profile store", "name", "not a valid profile name", name,
                          "letters, digits, _ . - (max 64, no leading punctuation)")
    return profiles_dir() / f"{name}.json"


def save(name: str, mass_kg, stiffness_n_per_m, damping_ns_per_m, source: str = "",
         provenance: dict | None = None) -> Path:
    """Write a chain profile; validated like a scene profile first."""
    path = _path(name)
    values = {"mass_kg": [float(v) for v in mass_kg],
              "stiffness_n_per_m": [float(v) for v in stiffness_n_per_m],
              "damping_ns_per_m": [float(v) for v in damping_ns_per_m]}
    _validate(values | {"kind": "chain", "source": source}, str(path))
    doc = {"format": FORMAT, "version": 1, "name": name, "kind": "chain", "units": UNITS,
           **values, "source": source,
           "provenance": {"saved_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                          **(provenance or {})}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)  # never leave a half-written profile
    return path


def _validate(table: dict, file: str) -> Profile:
    p = build(Profile, table, file)
    n = len(p.mass_kg)
    if n == 0:
        raise SchemaError(file, "mass_kg", "needs one value per storey", [], ">= 1 values")
    for key in ("stiffness_n_per_m", "damping_ns_per_m"):
        if len(getattr(p, key)) != n:
            raise SchemaError(file, key, "needs one value per storey", getattr(p, key),
                              f"{n} values (as mass_kg)")
    return p


def load(name: str) -> Profile:
    """A saved profile as a scene-file Profile (kind chain)."""
    path = _path(name)
    return load_file(path)


def load_file(path: Path) -> Profile:
    file = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(file, "profile", "no such saved profile", Path(path).stem,
                          ", ".join(list_saved()) or "none saved") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SchemaError(file, "profile", f"not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SchemaError(file, "format", "not a twin3d profile",
                          doc.get("format") if isinstance(doc, dict) else None, repr(FORMAT))
    if doc.get("units", UNITS) != UNITS:
        raise SchemaError(file, "units", "unexpected units", str(doc.get("units")), str(UNITS))
    table = {k: doc[k] for k in ("kind", "source", *UNITS) if k in doc}
    return _validate(table, file)


def list_saved() -> list[str]:
    d = profiles_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def saved_profiles(n_storeys: int) -> dict[str, Profile]:
    """Every readable saved profile with n_storeys storeys (others are left out of listings;
    loading one by name reports its problem)."""
    out = {}
    for name in list_saved():
        try:
            p = load(name)
        except SchemaError:
            continue
        if len(p.mass_kg) == n_storeys:
            out[name] = p
    return out


def with_saved_profiles(scene: Scene) -> Scene:
    """The scene with the user's saved profiles of its storey count added to its list; the
    scene file's own names win. Called where a user's profiles are wanted (CLI, panels, tools),
    never by `load_scene`, so reading a scene file never depends on the user's home folder."""
    saved = saved_profiles(scene.n_storeys)
    if not saved:
        return scene
    return dataclasses.replace(scene, data=dataclasses.replace(
        scene.data, profiles={**saved, **scene.data.profiles}))


def load_user_scene(name_or_path="three_storey") -> Scene:
    """`load_scene` followed by `with_saved_profiles`: the scene as a user works with it."""
    return with_saved_profiles(load_scene(name_or_path))
