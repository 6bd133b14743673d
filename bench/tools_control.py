"""Bench: the vibration_control and simulator tools against plain baselines run here."""

from __future__ import annotations

import numpy as np

from twin3d.bench import best, figure


def _ctx():
    from twin3d import tools
    from twin3d.scenefile.records import load_scene
    return tools, tools.Context(scene=load_scene())


def bench_vibration_control(repeat: int) -> list[dict]:
    """Default DVF case on Cristallo's 9901-point grid vs a per-frequency impedance loop."""
    tools, ctx = _ctx()
    mod = tools.get("vibration_control")
    inputs = tools.example_inputs(mod)
    result = tools.run(mod, inputs, ctx)
    ours = best(lambda: tools.run(mod, inputs, ctx), repeat)

    from twin3d.physics.structure import with_oscillator

    model = ctx.scene.model(inputs.profile)
    act = ctx.scene.actuator_params()
    n = model.n
    f_ = act.floor - 1
    carried = with_oscillator(model, act.floor, act.base_mass_kg, act.proof_mass_kg,
                              act.stiffness_n_per_m, act.damping_ns_per_m)
    M, K, C = carried.M, carried.K, carried.C
    e = np.zeros(n + 1)  # the coil acts between the floor and the proof mass
    e[f_], e[n] = 1.0, -1.0
    Zc = act.force_factor_n_per_a * inputs.gain_a_s_per_m * np.outer(e, np.eye(n + 1)[f_])
    w = 2 * np.pi * result.frequency_hz
    out = {}

    def baseline():
        # what Cristallo did: one dense solve per frequency for each curve, plus the loop
        T0, T1, L = np.empty(w.size), np.empty(w.size), np.empty(w.size, complex)
        for k, wk in enumerate(w):
            v0 = np.linalg.solve(1j * wk * model.M + model.C + model.K / (1j * wk), np.eye(n)[0])
            T0[k] = 0.25 * np.real(v0.conj() @ model.M @ v0)
            Z = 1j * wk * M + C + K / (1j * wk)
            v1 = np.linalg.solve(Z + Zc, np.eye(n + 1)[0])
            T1[k] = 0.25 * np.real(v1[:n].conj() @ M[:n, :n] @ v1[:n])
            L[k] = act.force_factor_n_per_a * inputs.gain_a_s_per_m * np.linalg.solve(Z, e)[f_]
        out["db"] = -10 * np.log10(np.trapezoid(T1, w) / np.trapezoid(T0, w))

    base = best(baseline, max(1, repeat // 2))
    fig = figure("vibration_control default DVF (9901 frequencies, KE + Nyquist + margin)", ours,
                 base, "per-frequency numpy impedance solves (KE and Nyquist only)", "s", 2.0)
    fig["max_relative_difference"] = float(abs(out["db"] - result.ke_reduction_db) / out["db"])
    return [fig]


def bench_simulator_mc(scenarios: int) -> list[dict]:
    """Hammer Monte Carlo (5 s at 2048 Hz) vs scipy.signal.lsim per scenario, same fine grid."""
    import scipy.signal

    from twin3d.physics.structure import LinearModel
    tools, ctx = _ctx()
    mod = tools.get("simulator")
    inputs = tools.make_inputs(mod, {"scenarios": scenarios, "mass_sd_kg": 0.1,
                                     "stiffness_sd_n_per_m": 1000.0})
    tools.run(mod, tools.make_inputs(mod, {"duration_s": 0.2}), ctx)  # compile
    result = None

    def ours_fn():
        nonlocal result
        result = tools.run(mod, inputs, ctx)

    ours = best(ours_fn, 2)
    from twin3d.physics import monte_carlo as sim
    scen = sim.draw_scenarios(np.diag(ctx.scene.model().M), [34958.3691, 43195.1237, 43295.9086],
                              [7.8963, 4.0129, 5.4905], [0] * 3, [0] * 3,
                              {"mass": 0.1, "stiffness": 1000.0}, scenarios,
                              sim.generators(inputs.seed))
    S = result.t.size
    every = result.substeps
    t = np.linspace(0.0, inputs.duration_s, (S - 1) * every + 1)
    f = 300.0 * np.exp(-0.5 * ((t - 0.5) / 0.01) ** 2)
    peaks = []

    def baseline():
        peaks.clear()
        for i in range(scenarios):
            A, B = LinearModel.chain(scen.mass[i], scen.stiffness[i], scen.damping[i]
                                     ).state_matrices()
            _, y, _ = scipy.signal.lsim((A, B[:, :1], np.eye(6)[:3], np.zeros((3, 1))), f, t)
            peaks.append(np.abs(y[::every]).max(axis=0))

    base = best(baseline, 1)
    fig = figure(f"simulator hammer Monte Carlo, {scenarios} scenarios x 5 s at 2048 Hz", ours,
                 base, "scipy.signal.lsim per scenario (displacements only)", "s", 1.5)
    ref = np.array(peaks)
    fig["max_relative_difference"] = float(np.max(np.abs(
        result.scenario_peak_displacement_m - ref) / ref))
    return [fig]


def steps(quick: bool) -> list:
    return [("vibration_control tool", lambda: bench_vibration_control(3 if quick else 5)),
            ("simulator Monte Carlo", lambda: bench_simulator_mc(5 if quick else 30))]
