"""`twin3d bench`: each performance figure beside its baseline, measured in the same run."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import numpy as np


def scene_child(module: str, call: str, what: str, timeout: float = 600) -> dict:
    """`call` (a Python expression naming functions of `module`) in a fresh headless process,
    its JSON-printed result back: Ursina is one app per process, so each scene figure runs in
    its own, offscreen (no DISPLAY; EGL surfaceless). A failure is a RuntimeError naming
    `what`, with the tail of the child's stderr."""
    import json
    import subprocess
    import sys

    code = (f"import importlib, json; m = importlib.import_module({module!r}); "
            f"print(json.dumps(eval({call!r}, vars(m))))")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.setdefault("EGL_PLATFORM", "surfaceless")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{what} subprocess failed: {r.stderr.strip()[-1500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of `repeat` calls, s (the least disturbed by a shared machine)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def figure(name: str, ours: float, baseline: float, baseline_name: str, unit: str,
            goal: float) -> dict:
    """ratio = how many times better ours is than the baseline (baseline time / ours)."""
    ratio = baseline / ours
    return {"name": name, "ours": ours, "baseline": baseline, "baseline_name": baseline_name,
            "unit": unit, "ratio": ratio, "goal_ratio": goal, "meets_goal": bool(ratio >= goal)}


def bench_linear(seconds: float, repeat: int) -> list[dict]:
    """3-DOF linear response at 1 kHz: exact discretisation vs lsim and odeint."""
    import scipy.integrate
    import scipy.signal

    from twin3d.physics.response import linear_response
    from twin3d.physics.structure import LinearModel

    model = LinearModel.chain([5.0394, 4.9919, 4.9693], [34958.3691, 43195.1237, 43295.9086],
                              [7.8963, 4.0129, 5.4905])
    fs = 1000.0
    n = int(seconds * fs) + 1
    t = np.arange(n) / fs
    ag = np.random.default_rng(0).standard_normal(n)
    linear_response(model, 1 / fs, 16, base_acc=ag[:16])  # compile outside the timing
    ours = best(lambda: linear_response(model, 1 / fs, n, base_acc=ag), repeat)
    A, B = model.state_matrices()
    sys_ = scipy.signal.StateSpace(A, B[:, -1:], np.eye(6), np.zeros((6, 1)))
    t_lsim = best(lambda: scipy.signal.lsim(sys_, ag, t), max(1, repeat // 2))

    def rhs(x, tt):
        return A @ x + B[:, -1] * np.interp(tt, t, ag)

    t_ode = best(lambda: scipy.integrate.odeint(rhs, np.zeros(6), t, rtol=1e-8, atol=1e-12,
                                                 hmax=1 / fs), 1)
    label = f"3-DOF linear response, {seconds:g} s at 1 kHz"
    return [figure(label, ours, t_lsim, "scipy.signal.lsim", "s", 30.0),
            figure(label, ours, t_ode, "scipy.integrate.odeint (rtol 1e-8, hmax 1 ms)", "s",
                    30.0)]


def bench_rig(seconds: float) -> list[dict]:
    """Coupled motor + crank + structure + actuator at the physics rate, vs real time."""
    from twin3d.physics import rig
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    system = rig.build_rig(scene.model(), scene.motor_params(), scene.crank_params(),
                           scene.actuator_params())
    dt = 1.0 / scene.data.motor.physics_rate_hz
    cmd = rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=400.0, ramp_rpm_per_s=600.0,
                         dvf_gain=2.0)
    x = rig.initial_state(system)
    rig.run(system, x, cmd, dt, 20, 20)  # compile outside the timing
    n = int(round(seconds / dt))
    wall = best(lambda: rig.run(system, rig.initial_state(system), cmd, dt, n, 20), 2)
    per_second = wall / seconds
    return [figure(f"rig (BLDC+crank+structure+actuator), {seconds:g} s at "
                    f"{1 / dt / 1000:g} kHz: wall s per rig s", per_second, 1.0,
                    "real time", "s/s", 50.0)]


def _numpy_mc(mass, stiffness, damping, omega, chunk=50):
    """The vectorised numpy baseline: batched dense solves, a chunk of samples at a time."""
    from twin3d.physics.structure import chain_matrix

    ns, n = mass.shape
    out = np.empty((ns, omega.size, n), dtype=complex)
    rhs = np.zeros((n, 1), dtype=complex)
    rhs[0] = 1.0
    for s0 in range(0, ns, chunk):
        sl = slice(s0, min(ns, s0 + chunk))
        K = np.stack([chain_matrix(k) for k in stiffness[sl]])
        C = np.stack([chain_matrix(c) for c in damping[sl]])
        M = np.stack([np.diag(m) for m in mass[sl]])
        w = omega[None, :, None, None]
        D = K[:, None] - w**2 * M[:, None] + 1j * w * C[:, None]
        out[sl] = np.linalg.solve(D, np.broadcast_to(rhs, D.shape[:-1] + (1,)))[..., 0]
    return out


def bench_mc_frf(samples: int, freqs: int) -> list[dict]:
    from twin3d.physics.structure import chain_receptance_batch

    rng = np.random.default_rng(1)
    base_m = np.array([5.0394, 4.9919, 4.9693])
    base_k = np.array([34958.3691, 43195.1237, 43295.9086])
    base_c = np.array([7.8963, 4.0129, 5.4905])
    m = base_m * (1 + 0.05 * rng.uniform(-1, 1, (samples, 3)))
    k = base_k * (1 + 0.05 * rng.uniform(-1, 1, (samples, 3)))
    c = base_c * (1 + 0.05 * rng.uniform(-1, 1, (samples, 3)))
    omega = 2 * np.pi * np.linspace(1, 40, freqs)
    chain_receptance_batch(m[:2], k[:2], c[:2], omega[:2], 0)
    ours_out = None

    def ours_fn():
        nonlocal ours_out
        ours_out = chain_receptance_batch(m, k, c, omega, 0)

    ours = best(ours_fn, 3)
    base_out = None

    def base_fn():
        nonlocal base_out
        base_out = _numpy_mc(m, k, c, omega)

    base = best(base_fn, 1)
    err = float(np.max(np.abs(ours_out - base_out)) / np.max(np.abs(base_out)))
    f = figure(f"Monte Carlo FRF, {samples} samples x {freqs} frequencies", ours, base,
                "vectorised numpy (batched np.linalg.solve)", "s", 5.0)
    f["max_relative_difference"] = err
    return [f]


class NoSuchStep(ValueError):
    """`only` names no step."""


def run_benchmarks(quick: bool = False, progress: Callable[[str], None] | None = print,
                   only: tuple[str, ...] = ()) -> dict:
    """Every step, or those whose name contains one of `only` (case-insensitive)."""
    say = progress or (lambda s: None)
    figures: list[dict] = []
    steps = [
        ("linear response", lambda: bench_linear(10.0 if quick else 60.0, 3 if quick else 5)),
        ("coupled rig", lambda: bench_rig(1.0 if quick else 10.0)),
        ("Monte Carlo FRF", lambda: bench_mc_frf(500 if quick else 10_000,
                                                 200 if quick else 1000)),
    ]  # start-up (compile vs load) and the first start: bench/first_start.py
    steps += _module_steps(quick)
    if only:
        steps = [(w, fn) for w, fn in steps if any(o.lower() in w.lower() for o in only)]
        if not steps:
            raise NoSuchStep(f"--only {','.join(only)!r} matches no step")
    for i, (what, fn) in enumerate(steps, 1):
        say(f"[{i}/{len(steps)}] {what} ...")
        t0 = time.perf_counter()
        step = fn()
        for f in step:  # what the step cost to measure (not a figure: the machine is shared)
            f["step"], f["step_seconds"] = what, round(time.perf_counter() - t0, 2)
        figures.extend(step)
    report = {"quick": quick, "only": list(only), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "figures": figures}
    say(format_table(figures))
    return report


def _module_steps(quick: bool) -> list:
    """Steps from bench/*.py modules (scene, tools, live): each has steps(quick) -> [(what, fn)]
    where fn() returns a list of figure() dicts."""
    import importlib
    import pkgutil

    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "steps"):
            out.extend(mod.steps(quick))
    return out


def format_table(figures: list[dict]) -> str:
    rows = ["| figure | ours | baseline | ratio (goal) |", "| --- | --- | --- | --- |"]
    for f in figures:
        ratio = f"{f['ratio']:.3g}" if f['ratio'] < 1 else f"{f['ratio']:.1f}"  # 0.82x, 1.8x
        rows.append(f"| {f['name']} | {f['ours']:.4g} {f['unit']} | {f['baseline']:.4g} "
                    f"{f['unit']} ({f['baseline_name']}) | {ratio}x "
                    f"({f['goal_ratio']:.3g}x{'' if f['meets_goal'] else ', NOT MET'}) |")
    return "\n".join(rows)
