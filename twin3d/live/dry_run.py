"""Twin-side checks before a command goes out (DESIGN.md section 5): a dry run on the model.

- every command: its arguments against the scene's [limits] (the rig checks them again);
- `set_speed`: the predicted steady-state storey drift at the target speed
  (`physics.steady_drift.steady_drift_m`, the twin's model, the rig's current stroke) against
  limits.drift_limit_m;
- `set_control` with `dvf`: the gain against the critical gain of the twin's closed DVF loop
  (`physics.control.dvf_critical_gain`, from the closed-loop eigenvalues, not Cristallo's
  margin).

A refusal carries the number that refused it (`value`, `limit`) and a one-line reason in plain
words with both numbers and their units ("steady drift 3.3 mm in storey 1 at 346.8 rpm would
exceed the 3 mm limit"), never a field name: the operator reads it on the panel and in the
command log. The physics lives in physics/; this module only compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from twin3d.protocol.commands import (DVF_GAIN_MARGIN, OPS, Command, CommandError, arg_range,
                                      check_args, limit_values)
from twin3d.scenefile.records import Scene


@dataclass(frozen=True)
class DryRun:
    ok: bool
    op: str
    reason: str = ""
    check: str = ""  # which check refused: args, drift, stability
    value: float | None = None
    limit: float | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "op": self.op, "reason": self.reason, "check": self.check,
                "value": self.value, "limit": self.limit, "detail": self.detail}


def dry_run(cmd: Command, scene: Scene, stroke_m: float | None = None,
            profile: str | None = None) -> DryRun:
    """Check one command against the twin's model; `stroke_m` is the rig's (default: scene's)."""
    lims = limit_values(scene.data.limits, scene.n_storeys)
    try:
        args = check_args(cmd.op, cmd.args, lims, cmd.id)
    except CommandError as e:
        return _args_refusal(cmd.op, e, lims)
    if cmd.op == "set_speed":
        return _speed(cmd, scene, args, stroke_m, profile)
    if cmd.op == "set_control" and args["strategy"] == "dvf":
        return _control(cmd, scene, args, profile)
    return DryRun(True, cmd.op)


def _speed(cmd, scene, args, stroke_m, profile) -> DryRun:
    from twin3d.physics.steady_drift import max_safe_speed_rpm, steady_drift_m

    model = scene.rig_model(profile)  # with the actuator it carries: it moves mode 1
    n = scene.n_storeys
    stroke = scene.data.crank.stroke_m if stroke_m is None else float(stroke_m)
    rpm = float(args["rpm"])
    limit = scene.data.limits.drift_limit_m
    drift = steady_drift_m(model, stroke, rpm, scene.data.crank.gear_ratio, storeys=n)
    worst = int(np.argmax(drift))
    # bands the ramp crosses on the way are reported, not refused: a ramp passes through them
    bands = [(round(lo, 1), round(hi, 1)) for lo, hi in
             max_safe_speed_rpm(model, stroke, limit, max(rpm, 1e-6), storeys=n) if hi < rpm]
    detail = {"drift_m": [float(d) for d in drift], "stroke_m": stroke, "rpm": rpm,
              "bands_crossed_rpm": bands}
    if drift[worst] > limit:
        return DryRun(False, cmd.op,
                      f"steady drift {_apart(1e3 * drift[worst], 1e3 * limit)} mm in storey "
                      f"{worst + 1} at {rpm:g} rpm would exceed the {1e3 * limit:g} mm limit "
                      f"(stroke {1e3 * stroke:g} mm)",
                      "drift", float(drift[worst]), limit, detail)
    return DryRun(True, cmd.op, value=float(drift[worst]), limit=limit, detail=detail)


def _control(cmd, scene, args, profile) -> DryRun:
    from twin3d.physics.control import dvf_critical_gain

    act = scene.actuator_params()
    if not act.installed:
        return DryRun(False, cmd.op, "no actuator installed in the scene", "args")
    floor = int(args.get("floor", act.floor))
    gain = float(args.get("gain", 0.0))
    g_crit = dvf_critical_gain(scene.model(profile), replace(act, floor=floor))
    detail = {"critical_gain": g_crit, "gain": gain, "floor": floor,
              "gain_margin_db": float(20 * np.log10(g_crit / gain))
              if gain > 0 and np.isfinite(g_crit) else None}
    bound = DVF_GAIN_MARGIN * g_crit  # the rig applies the same margin to its own structure
    if gain > bound:
        margin_db = -20 * np.log10(DVF_GAIN_MARGIN)
        effect = "make the loop unstable" if gain >= g_crit else \
            f"leave less than the {margin_db:.0f} dB gain margin"
        return DryRun(False, cmd.op,
                      f"DVF gain {gain:g} A/(m/s) on floor {floor} would {effect}: the most "
                      f"allowed is {bound:.4g} A/(m/s), {DVF_GAIN_MARGIN:g} x the twin's "
                      f"critical gain {g_crit:.4g} A/(m/s) ({margin_db:.0f} dB margin)",
                      "stability", gain, bound, detail)
    return DryRun(True, cmd.op, value=gain, limit=bound, detail=detail)


def _args_refusal(op: str, e: CommandError, lims: dict) -> DryRun:
    """An argument out of its range, said with the number and the bound it crossed ("crank
    speed 5000 rpm is above the 1800 rpm maximum"); other argument errors (a malformed command,
    not an operator's choice) keep the protocol's own line."""
    name = e.key.removeprefix("args.")
    if e.problem != "out of range" or name not in OPS.get(op, {}):
        return DryRun(False, op, str(e), "args")
    a = OPS[op][name]
    lo, hi = arg_range(op, name, lims)
    what = (a.doc or name).split(" (")[0]
    over = hi is not None and e.got > hi
    bound = hi if over else lo
    k, unit = (1e3, " mm") if a.unit == "m" else (1, f" {a.unit}" if a.unit else "")  # a stroke
    side = "above the maximum" if over else "below the minimum"
    return DryRun(False, op, f"{what} {k * e.got:g}{unit} is {side} {k * bound:g}{unit}",
                  "args", float(e.got), float(bound))


def _apart(value: float, limit: float) -> str:
    """`value` with 3 significant digits, or more where 3 would print it as the limit."""
    for digits in range(3, 8):
        text = f"{value:.{digits}g}"
        if float(text) != float(f"{limit:.{digits}g}"):
            return text
    return text
