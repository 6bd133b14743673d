"""The whole rig in one kernel: BLDC motor and driver, crank table, structure, inertial actuator.

Motor. Three star-connected phases with resistance R and inductance L (self minus mutual) each,
trapezoidal back-EMF e_x = ke w f_x(p theta) with flat tops of 120 electrical degrees, torque
T_e = ke sum_x f_x i_x (so T_e w = sum_x e_x i_x exactly). The driver reads ideal Hall sensors
(edges every 60 electrical degrees), drives one phase high at |d| V_bus (PWM averaged), one low,
and leaves the third floating; a floating phase keeps conducting through its freewheeling diode
(clamped to 0 or V_bus) until its current reaches zero, and an open phase whose terminal would
leave [0, V_bus] starts conducting through a diode. The neutral voltage follows from
i_a + i_b + i_c = 0. A PI speed loop (or an open-loop duty) sets d, with an averaged current limit.

Crank table (scotch yoke): x_g = r sin(theta / G). The table's inertia and the structure's base
shear V_b = 1'(K u + C u') load the motor through the yoke (virtual work), so the motor slows
where the structure absorbs power: the Sommerfeld effect. Alternatively the table can follow a
prescribed acceleration (an earthquake), with the crank uncoupled.

Structure: floors relative to the table, M u'' + C u' + K u = f - M 1 a_g + e_n F_act.
Actuator on floor n: base mass in M, proof mass m_p on k_p, c_p, coil force Bl i on the pair
(+floor, -proof mass), current i = -h (absolute floor velocity) under direct velocity feedback.

The state also carries the running energy integrals, so that an energy balance can be checked to
integrator accuracy. Integration: classical RK4 at the physics rate (default 20 kHz, step well
below the 0.5 ms electrical time constant); switching states are latched once per step, as a
digital driver does, so the right-hand side is smooth inside each step.
"""

from __future__ import annotations

import numba
import numpy as np

# ---- parameter vector indices --------------------------------------------------------------
P_R, P_L, P_KE, P_POLE_PAIRS, P_J, P_B, P_TC, P_WS = 0, 1, 2, 3, 4, 5, 6, 7
P_VBUS, P_ILIM, P_KP, P_KI, P_GEAR, P_STROKE, P_MT, P_RTH = 8, 9, 10, 11, 12, 13, 14, 15
P_CTH, P_TAMB, P_ACT_FLOOR, P_MP, P_KACT, P_CACT, P_BL, P_IMAX = 16, 17, 18, 19, 20, 21, 22, 23
N_PARAMS = 24

# ---- command vector indices ----------------------------------------------------------------
C_MODE, C_SPEED, C_RAMP, C_DUTY, C_GAIN, C_TABLE = 0, 1, 2, 3, 4, 5
N_CMDS = 6
MODE_SPEED, MODE_DUTY, MODE_COAST, MODE_BRAKE = 0, 1, 2, 3
TABLE_CRANK, TABLE_PRESCRIBED = 0, 1

# ---- state vector indices ------------------------------------------------------------------
S_IA, S_IB, S_IC, S_TH, S_OM, S_INT, S_REF, S_TW, S_XG, S_VG = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
# running energy integrals, J
S_WBUS, S_WCU, S_WFR, S_WSD, S_WAD, S_WCOIL, S_WEXT, S_WTAB = 10, 11, 12, 13, 14, 15, 16, 17
S_U = 18  # then u (N), v (N), z_p, z_p'


def state_size(n: int) -> int:
    return S_U + 2 * n + 2


# ---- output columns (one row every `out_every` steps) ----------------------------------------
O_T, O_TH, O_OM, O_IA, O_IB, O_IC, O_DUTY, O_TE = 0, 1, 2, 3, 4, 5, 6, 7
O_XG, O_VG, O_AG, O_TW, O_FACT, O_VB, O_REF = 8, 9, 10, 11, 12, 13, 14
O_U = 15  # then u (N), v (N), a_abs (N)


def output_size(n: int) -> int:
    return O_U + 3 * n


@numba.njit(cache=True, fastmath=True)
def _trap_wrapped(x):
    """trapezoid() for x already in [0, 2 pi)."""
    d = np.pi / 6.0
    if x < d:
        return x / d
    if x < 5.0 * d:
        return 1.0
    if x < 7.0 * d:
        return 1.0 - (x - 5.0 * d) / d
    if x < 11.0 * d:
        return -1.0
    return -1.0 + (x - 11.0 * d) / d


@numba.njit(cache=True, fastmath=True)
def trapezoid(theta_e):
    """Unit trapezoidal back-EMF shape: +1 on [30, 150] deg, -1 on [210, 330], linear between."""
    two_pi = 2.0 * np.pi
    return _trap_wrapped(theta_e - two_pi * np.floor(theta_e / two_pi))


@numba.njit(cache=True, fastmath=True)
def _shapes(theta_e, out):
    """Back-EMF shapes of phases a, b, c (b and c lag by 120 and 240 degrees), one wrap."""
    two_pi = 2.0 * np.pi
    x = theta_e - two_pi * np.floor(theta_e / two_pi)
    for k in range(3):
        y = x - two_pi * k / 3.0
        if y < 0.0:
            y += two_pi
        out[k] = _trap_wrapped(y)


@numba.njit(cache=True, fastmath=True)
def _back_emf(theta_e, omega, ke, shape, emf):
    """Phase shapes and back-EMFs e_k = ke w f_k at electrical angle theta_e."""
    _shapes(theta_e, shape)
    for k in range(3):
        emf[k] = ke * omega * shape[k]


@numba.njit(cache=True, fastmath=True)
def _neutral_voltage(x, R, vt, conn, emf):
    """Star-point voltage from i_a + i_b + i_c = 0 over the conducting phases (0 if < 2)."""
    nconn = conn[0] + conn[1] + conn[2]
    if nconn < 2:
        return 0.0
    vn = 0.0
    for k in range(3):
        if conn[k] == 1:
            vn += vt[k] - R * x[S_IA + k] - emf[k]
    return vn / nconn


@numba.njit(cache=True, fastmath=True)
def hall_sector(theta_e):
    """Six-step sector 0..5 of the electrical angle, sector 0 starting at 30 degrees."""
    x = (theta_e - np.pi / 6.0) % (2.0 * np.pi)
    return int(x // (np.pi / 3.0)) % 6


# Phases driven high and low in each sector (a=0, b=1, c=2): the pair whose back-EMFs are on
# their flat tops of opposite sign, so the torque is ke * 2 i and nearly ripple-free.
_HIGH = np.array([0, 0, 1, 1, 2, 2])
_LOW = np.array([1, 2, 2, 0, 0, 1])


@numba.njit(cache=True, fastmath=True)
def _latch(x, p, mode, duty, theta_e, emf, vt, conn):
    """Terminal voltages vt and connection pattern conn (1 = phase conducts) for this step."""
    vbus = p[P_VBUS]
    for k in range(3):
        vt[k] = 0.0
        conn[k] = 0
    if mode == MODE_BRAKE:  # all low-side switches on: the windings are shorted
        for k in range(3):
            conn[k] = 1
        return
    if mode != MODE_COAST:
        s = hall_sector(theta_e)
        hi, lo = _HIGH[s], _LOW[s]
        if duty < 0.0:  # reverse torque: swap the pair
            hi, lo = lo, hi
        vt[hi] = abs(duty) * vbus
        vt[lo] = 0.0
        conn[hi] = 1
        conn[lo] = 1
    for k in range(3):  # freewheeling phases conduct through a diode while their current flows
        if conn[k] == 0 and x[S_IA + k] != 0.0:
            conn[k] = 1
            vt[k] = 0.0 if x[S_IA + k] > 0.0 else vbus
    # an open phase whose terminal would leave [0, V_bus] is clamped by its diode
    nconn = conn.sum()
    if nconn >= 2:
        vn = _neutral_voltage(x, p[P_R], vt, conn, emf)
        for k in range(3):
            if conn[k] == 0:
                vterm = vn + emf[k]
                if vterm > vbus:
                    conn[k] = 1
                    vt[k] = vbus
                elif vterm < 0.0:
                    conn[k] = 1
                    vt[k] = 0.0
    else:  # nothing conducts; a line back-EMF above V_bus opens two diodes
        kmax = int(np.argmax(emf))
        kmin = int(np.argmin(emf))
        if emf[kmax] - emf[kmin] > vbus:
            conn[kmax] = 1
            vt[kmax] = vbus
            conn[kmin] = 1
            vt[kmin] = 0.0


@numba.njit(cache=True, fastmath=True, inline="always")
def _deriv(x, p, vt, conn, gain, table_mode, f_ext, ag_pres, M_inv, K, C, n, dx, extra,
           scratch_shape, scratch_emf, scratch_force, scratch_acc):
    """Time derivative of the continuous states. extra <- [T_e, a_g, F_act, V_b, a_abs...]."""
    R, L, ke, pp = p[P_R], p[P_L], p[P_KE], p[P_POLE_PAIRS]
    th, om = x[S_TH], x[S_OM]
    th_e = pp * th
    shape = scratch_shape
    emf = scratch_emf
    _back_emf(th_e, om, ke, shape, emf)
    nconn = conn[0] + conn[1] + conn[2]
    vn = _neutral_voltage(x, R, vt, conn, emf)
    p_bus = 0.0
    p_cu = 0.0
    torque = 0.0
    for k in range(3):
        ik = x[S_IA + k]
        if conn[k] == 1 and nconn >= 2:
            dx[S_IA + k] = (vt[k] - R * ik - emf[k] - vn) / L
            p_bus += vt[k] * ik
        else:
            dx[S_IA + k] = 0.0
        p_cu += R * ik * ik
        torque += ke * shape[k] * ik
    # friction: viscous plus Coulomb, made linear below |w| = w_s (no stick-slip chatter)
    t_fric = p[P_B] * om + p[P_TC] * min(1.0, max(-1.0, om / p[P_WS]))

    # structure
    iv = S_U + n  # u_i = x[S_U + i], v_i = x[iv + i]
    zp = x[S_U + 2 * n]
    vp = x[S_U + 2 * n + 1]
    af = int(p[P_ACT_FLOOR])
    have_act = af >= 0 and p[P_MP] > 0.0
    force = scratch_force
    vbase = 0.0  # base shear that the structure exerts on the table: 1'(K u + C u'), N
    for i in range(n):
        restoring = 0.0
        for j in range(n):
            restoring += K[i, j] * x[S_U + j] + C[i, j] * x[iv + j]
        force[i] = f_ext[i] - restoring
        vbase += restoring
    f_act = 0.0
    f_susp = 0.0
    i_coil = 0.0
    if have_act:
        f_susp = p[P_KACT] * (zp - x[S_U + af]) + p[P_CACT] * (vp - x[iv + af])
        i_coil = -gain * (x[iv + af] + x[S_VG])  # DVF on the absolute floor velocity
        imax = p[P_IMAX]
        if i_coil > imax:
            i_coil = imax
        elif i_coil < -imax:
            i_coil = -imax
        f_act = p[P_BL] * i_coil
        force[af] += f_susp + f_act
    acc_rel0 = scratch_acc  # floor accelerations relative to the table, plus a_g
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += M_inv[i, j] * force[j]
        acc_rel0[i] = acc

    # motor + table
    G = p[P_GEAR]
    r = p[P_STROKE]
    if table_mode == TABLE_CRANK:
        thc = th / G
        s = r * np.cos(thc) / G  # dx_g / dtheta
        q = r * np.sin(thc) * om * om / (G * G)  # x_g'' = s theta'' - q
        j_eff = p[P_J] + p[P_MT] * s * s
        om_dot = (torque - t_fric + s * p[P_MT] * q + s * vbase) / j_eff
        ag = s * om_dot - q
        dx[S_XG] = s * om
        dx[S_VG] = ag
        dx[S_WTAB] = 0.0
    else:
        om_dot = (torque - t_fric) / p[P_J]
        ag = ag_pres
        dx[S_XG] = x[S_VG]
        dx[S_VG] = ag
        # the external shaker supplies m_t a_g - V_b to the table
        dx[S_WTAB] = (p[P_MT] * ag - vbase) * x[S_VG]
    dx[S_TH] = om
    dx[S_OM] = om_dot
    dx[S_INT] = 0.0
    dx[S_REF] = 0.0
    dx[S_TW] = (p_cu - (x[S_TW] - p[P_TAMB]) / p[P_RTH]) / p[P_CTH]
    for i in range(n):
        dx[S_U + i] = x[iv + i]
        dx[S_U + n + i] = acc_rel0[i] - ag
    if have_act:
        dx[S_U + 2 * n] = vp
        dx[S_U + 2 * n + 1] = (-f_susp - f_act + f_ext[n]) / p[P_MP] - ag
    else:
        dx[S_U + 2 * n] = 0.0
        dx[S_U + 2 * n + 1] = 0.0
    # energy integrals
    dx[S_WBUS] = p_bus
    dx[S_WCU] = p_cu
    dx[S_WFR] = t_fric * om
    sd = 0.0
    for i in range(n):
        for j in range(n):
            sd += x[iv + i] * C[i, j] * x[iv + j]
    dx[S_WSD] = sd
    ext = 0.0
    for i in range(n):
        ext += f_ext[i] * (x[iv + i] + x[S_VG])
    if have_act:
        ext += f_ext[n] * (vp + x[S_VG])
    dx[S_WEXT] = ext
    if have_act:
        dv = vp - x[iv + af]
        dx[S_WAD] = p[P_CACT] * dv * dv
        dx[S_WCOIL] = f_act * (x[iv + af] - vp)
    else:
        dx[S_WAD] = 0.0
        dx[S_WCOIL] = 0.0
    extra[0] = torque
    extra[1] = ag
    extra[2] = f_act
    extra[3] = vbase
    for i in range(n):
        extra[4 + i] = acc_rel0[i]  # absolute floor acceleration = (acc_rel0 - ag) + ag


@numba.njit(cache=True, fastmath=True)
def _rk4(x, h, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k1, k2, k3, k4, xt,
         extra, sc0, sc1, sc2, sc3):
    """One classical Runge-Kutta step of length h with the switching pattern held."""
    ns = x.size
    _deriv(x, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k1, extra, sc0, sc1, sc2, sc3)
    for i in range(ns):
        xt[i] = x[i] + 0.5 * h * k1[i]
    _deriv(xt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k2, extra, sc0, sc1, sc2, sc3)
    for i in range(ns):
        xt[i] = x[i] + 0.5 * h * k2[i]
    _deriv(xt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k3, extra, sc0, sc1, sc2, sc3)
    for i in range(ns):
        xt[i] = x[i] + h * k3[i]
    _deriv(xt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k4, extra, sc0, sc1, sc2, sc3)
    for i in range(ns):
        x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@numba.njit(cache=True, fastmath=True)
def _balance_currents(x):
    """Restore i_a + i_b + i_c = 0 (round-off) over the phases that carry current."""
    isum = x[S_IA] + x[S_IB] + x[S_IC]
    nz = 0
    for k in range(3):
        if x[S_IA + k] != 0.0:
            nz += 1
    if isum != 0.0 and nz > 0:
        for k in range(3):
            if x[S_IA + k] != 0.0:
                x[S_IA + k] -= isum / nz


@numba.njit(cache=True, fastmath=True)
def rig_run(x, p, cmd, f_ext, ag_pres, M_inv, K, C, dt, n_steps, out_every, t0):
    """Advance the rig state x in place by n_steps of dt; return the decimated outputs.

    f_ext: (n_steps, N + 1) forces (N): floors, then the actuator's proof mass; ag_pres:
    (n_steps,) table acceleration used when
    cmd[C_TABLE] is TABLE_PRESCRIBED. Rows of the output are written after steps
    out_every, 2 out_every, ...; column O_T holds t0 + elapsed time.
    """
    n = K.shape[0]
    ns = x.size
    n_out = n_steps // out_every
    out = np.zeros((n_out, O_U + 3 * n))
    k1 = np.empty(ns)
    k2 = np.empty(ns)
    k3 = np.empty(ns)
    k4 = np.empty(ns)
    xt = np.empty(ns)
    x_save = np.empty(ns)
    extra = np.empty(4 + n)
    sc0 = np.empty(3)  # scratch: back-EMF shapes, back-EMFs, floor forces, accelerations
    sc1 = np.empty(3)
    sc2 = np.empty(n)
    sc3 = np.empty(n)
    mode = int(cmd[C_MODE])
    table_mode = int(cmd[C_TABLE])
    gain = cmd[C_GAIN]
    emf = np.empty(3)
    shape_now = np.empty(3)
    vt = np.zeros(3)
    conn = np.zeros(3, dtype=np.int64)
    row = 0
    duty = 0.0
    for step in range(n_steps):
        # --- the driver's digital part, once per step ---
        om = x[S_OM]
        target = cmd[C_SPEED]
        dref = cmd[C_RAMP] * dt
        if mode != MODE_SPEED:
            x[S_REF] = om  # the ramp starts from the actual speed when the loop takes over
        elif x[S_REF] < target - dref:
            x[S_REF] += dref
        elif x[S_REF] > target + dref:
            x[S_REF] -= dref
        else:
            x[S_REF] = target
        if mode == MODE_SPEED:
            err = x[S_REF] - om
            duty = p[P_KP] * err + x[S_INT]
            if -1.0 < duty < 1.0:  # conditional integration: no wind-up at saturation
                x[S_INT] += p[P_KI] * err * dt
            duty = min(1.0, max(-1.0, duty))
        elif mode == MODE_DUTY:
            duty = cmd[C_DUTY]
            x[S_INT] = duty  # bumpless hand-over to the PI loop
        else:
            duty = 0.0
            x[S_INT] = 0.0
        # averaged current limit: no more duty than drives I_lim against the line back-EMF
        line_emf = 2.0 * p[P_KE] * abs(om)
        dmax = (line_emf + 2.0 * p[P_R] * p[P_ILIM]) / p[P_VBUS]
        if duty > dmax:
            duty = dmax
        elif duty < -dmax:
            duty = -dmax
        th_e = p[P_POLE_PAIRS] * x[S_TH]
        _back_emf(th_e, om, p[P_KE], shape_now, emf)
        _latch(x, p, mode, duty, th_e, emf, vt, conn)
        fe = f_ext[step]
        ag_p = ag_pres[step]
        for i in range(ns):
            x_save[i] = x[i]
        _rk4(x, dt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n,
             k1, k2, k3, k4, xt, extra, sc0, sc1, sc2, sc3)
        # A phase freewheeling through its diode stops conducting when its current reaches
        # zero: locate the crossing, step to it, open the phase, and finish the step. Zeroing
        # an overshoot instead would throw away L i^2 / 2 at every commutation.
        tau = 2.0
        kc = -1
        for k in range(3):
            i0 = x_save[S_IA + k]
            i1 = x[S_IA + k]
            if (conn[k] == 1 and mode != MODE_BRAKE and i0 != 0.0 and i1 * i0 <= 0.0
                    and _is_freewheeling(k, mode, th_e)):
                frac = i0 / (i0 - i1)
                if frac < tau:
                    tau = frac
                    kc = k
        if kc >= 0:
            for i in range(ns):
                x[i] = x_save[i]
            _rk4(x, tau * dt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n,
                 k1, k2, k3, k4, xt, extra, sc0, sc1, sc2, sc3)
            x[S_IA + kc] = 0.0
            _balance_currents(x)
            th_e = p[P_POLE_PAIRS] * x[S_TH]
            _back_emf(th_e, x[S_OM], p[P_KE], shape_now, emf)
            _latch(x, p, mode, duty, th_e, emf, vt, conn)
            _rk4(x, (1.0 - tau) * dt, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n,
                 k1, k2, k3, k4, xt, extra, sc0, sc1, sc2, sc3)
        for k in range(3):
            if conn[k] == 0:
                x[S_IA + k] = 0.0
        _balance_currents(x)
        if table_mode == TABLE_CRANK:  # the table is a constraint, not a free state
            thc = x[S_TH] / p[P_GEAR]
            x[S_XG] = p[P_STROKE] * np.sin(thc)
            x[S_VG] = p[P_STROKE] * np.cos(thc) * x[S_OM] / p[P_GEAR]
        if (step + 1) % out_every == 0:
            _deriv(x, p, vt, conn, gain, table_mode, fe, ag_p, M_inv, K, C, n, k1, extra, sc0, sc1, sc2, sc3)
            o = out[row]
            o[O_T] = t0 + (step + 1) * dt
            o[O_TH] = x[S_TH]
            o[O_OM] = x[S_OM]
            o[O_IA] = x[S_IA]
            o[O_IB] = x[S_IB]
            o[O_IC] = x[S_IC]
            o[O_DUTY] = duty
            o[O_TE] = extra[0]
            o[O_XG] = x[S_XG]
            o[O_VG] = x[S_VG]
            o[O_AG] = extra[1]
            o[O_TW] = x[S_TW]
            o[O_FACT] = extra[2]
            o[O_VB] = extra[3]
            o[O_REF] = x[S_REF]
            for i in range(n):
                o[O_U + i] = x[S_U + i]
                o[O_U + n + i] = x[S_U + n + i]
                o[O_U + 2 * n + i] = extra[4 + i]
            row += 1
    return out


@numba.njit(cache=True, fastmath=True)
def _is_freewheeling(k, mode, theta_e):
    """True if phase k is not one of the two phases the driver switches in this sector."""
    if mode == MODE_COAST:
        return True
    s = hall_sector(theta_e)
    return k != _HIGH[s] and k != _LOW[s]


# ---------------------------------------------------------------------------------------------
# Python-side assembly (arrays in, arrays out)
# ---------------------------------------------------------------------------------------------

from dataclasses import dataclass, field  # noqa: E402

from twin3d.physics.params import ActuatorParams, CrankParams, MotorParams  # noqa: E402
from twin3d.physics.structure import LinearModel  # noqa: E402


@dataclass(frozen=True)
class RigSystem:
    """Everything rig_run needs, packed. M includes the actuator's base mass."""

    p: np.ndarray
    M: np.ndarray
    M_inv: np.ndarray
    K: np.ndarray
    C: np.ndarray
    motor: MotorParams
    crank: CrankParams
    actuator: ActuatorParams | None

    @property
    def n(self) -> int:
        return self.K.shape[0]


def build_rig(structure: LinearModel, motor: MotorParams, crank: CrankParams,
              actuator: ActuatorParams | None = None) -> RigSystem:
    p = np.zeros(N_PARAMS)
    p[P_R] = motor.phase_resistance_ohm
    p[P_L] = motor.phase_inductance_h
    p[P_KE] = motor.ke_v_s_per_rad
    p[P_POLE_PAIRS] = motor.pole_pairs
    p[P_J] = motor.inertia_kg_m2
    p[P_B] = motor.viscous_n_m_s
    p[P_TC] = motor.coulomb_n_m
    p[P_WS] = motor.coulomb_smoothing_rad_s
    p[P_VBUS] = motor.bus_voltage_v
    p[P_ILIM] = motor.current_limit_a
    p[P_KP] = motor.speed_kp
    p[P_KI] = motor.speed_ki
    p[P_RTH] = motor.thermal_resistance_k_per_w
    p[P_CTH] = motor.thermal_capacity_j_per_k
    p[P_TAMB] = motor.ambient_c
    p[P_GEAR] = crank.gear_ratio
    p[P_STROKE] = crank.stroke_m
    p[P_MT] = crank.table_mass_kg
    M = structure.M.copy()
    if actuator is not None and actuator.installed:
        if not 1 <= actuator.floor <= structure.n:
            raise ValueError(f"actuator floor must be 1..{structure.n}, got {actuator.floor}")
        p[P_ACT_FLOOR] = actuator.floor - 1
        p[P_MP] = actuator.proof_mass_kg
        p[P_KACT] = actuator.stiffness_n_per_m
        p[P_CACT] = actuator.damping_ns_per_m
        p[P_BL] = actuator.force_factor_n_per_a
        p[P_IMAX] = actuator.max_current_a
        M[actuator.floor - 1, actuator.floor - 1] += actuator.base_mass_kg
    else:
        p[P_ACT_FLOOR] = -1
        actuator = None
    return RigSystem(p, M, np.ascontiguousarray(np.linalg.inv(M)),
                     np.ascontiguousarray(structure.K), np.ascontiguousarray(structure.C),
                     motor, crank, actuator)


def with_stroke(system: RigSystem, stroke_m: float) -> RigSystem:
    p = system.p.copy()
    p[P_STROKE] = stroke_m
    return RigSystem(p, system.M, system.M_inv, system.K, system.C, system.motor,
                     CrankParams(stroke_m, system.crank.gear_ratio, system.crank.table_mass_kg),
                     system.actuator)


RPM = 2.0 * np.pi / 60.0  # rad/s per rpm


@dataclass(frozen=True)
class RigCommand:
    """What the driver and the controller are told; speeds are of the crank, in rpm."""

    mode: int = MODE_SPEED
    speed_rpm: float = 0.0
    ramp_rpm_per_s: float = 300.0
    duty: float = 0.0
    dvf_gain: float = 0.0  # A per m/s; 0 = control off
    table: int = TABLE_CRANK

    def vector(self, gear_ratio: float) -> np.ndarray:
        c = np.zeros(N_CMDS)
        c[C_MODE] = self.mode
        c[C_SPEED] = self.speed_rpm * RPM * gear_ratio
        c[C_RAMP] = self.ramp_rpm_per_s * RPM * gear_ratio
        c[C_DUTY] = self.duty
        c[C_GAIN] = self.dvf_gain
        c[C_TABLE] = self.table
        return c


def initial_state(system: RigSystem, ambient_c: float | None = None) -> np.ndarray:
    x = np.zeros(state_size(system.n))
    x[S_TW] = system.motor.ambient_c if ambient_c is None else ambient_c
    return x


# ---------------------------------------------------------------------------------------------
# Named views of the kernel's arrays: callers read fields, never the S_* / O_* indices
# ---------------------------------------------------------------------------------------------

class RigStateView:
    """Named, writable views into a rig state vector x (what `initial_state` makes and `run`
    advances). Array fields are numpy views, so `view.floor_disp[:] = u` writes into x.

    The energy fields are running integrals (J) since the state was made; the difference of two
    states (`RigStateView(x1 - x0)`) gives the energy over the interval.
    """

    __slots__ = ("x", "n")

    def __init__(self, x: np.ndarray, n: int | None = None):
        m = (x.shape[0] - S_U - 2) // 2 if n is None else n
        if x.ndim != 1 or m < 0 or x.shape[0] != state_size(m):
            expected = "" if n is None else f", expected ({state_size(n)},) for {n} floors"
            raise ValueError(f"not a rig state vector: shape {x.shape}{expected}")
        self.x = x
        self.n = m

    def _scalar(i):  # noqa: N805 (a property factory used in the class body only)
        return property(lambda self: self.x[i], lambda self, value: self.x.__setitem__(i, value))

    theta = _scalar(S_TH)  # motor shaft angle, rad
    omega = _scalar(S_OM)  # motor speed, rad/s
    speed_integrator = _scalar(S_INT)  # PI loop integral (duty)
    speed_ref = _scalar(S_REF)  # ramped speed reference, rad/s (motor shaft)
    winding_temp = _scalar(S_TW)  # degC
    table_disp = _scalar(S_XG)  # m
    table_vel = _scalar(S_VG)  # m/s
    w_bus = _scalar(S_WBUS)  # energy drawn from the DC bus
    w_copper = _scalar(S_WCU)  # copper loss
    w_friction = _scalar(S_WFR)  # motor friction loss
    w_damping = _scalar(S_WSD)  # structural damping loss
    w_actuator_damping = _scalar(S_WAD)  # actuator suspension damping loss
    w_coil = _scalar(S_WCOIL)  # work of the coil force on floor minus proof mass
    w_external = _scalar(S_WEXT)  # work of the external floor forces
    w_table = _scalar(S_WTAB)  # work of an external shaker on the table (prescribed mode)
    del _scalar

    @property
    def phase_currents(self) -> np.ndarray:
        """i_a, i_b, i_c (A)."""
        return self.x[S_IA:S_IC + 1]

    @property
    def floor_disp(self) -> np.ndarray:
        """Floor displacements relative to the table, (n,) m."""
        return self.x[S_U:S_U + self.n]

    @property
    def floor_vel(self) -> np.ndarray:
        """Floor velocities relative to the table, (n,) m/s."""
        return self.x[S_U + self.n:S_U + 2 * self.n]

    @property
    def proof_disp(self) -> float:
        """Actuator proof-mass displacement relative to the table, m."""
        return self.x[S_U + 2 * self.n]

    @proof_disp.setter
    def proof_disp(self, value: float) -> None:
        self.x[S_U + 2 * self.n] = value

    @property
    def proof_vel(self) -> float:
        """Actuator proof-mass velocity relative to the table, m/s."""
        return self.x[S_U + 2 * self.n + 1]

    @proof_vel.setter
    def proof_vel(self, value: float) -> None:
        self.x[S_U + 2 * self.n + 1] = value


class RigOutputs:
    """Named columns of `run`'s output rows (one row every `out_every` physics steps).

    Every field is a view of `array` (rows, output_size(n)), which stays reachable for code that
    stores or times the raw block."""

    __slots__ = ("array", "n")

    def __init__(self, array: np.ndarray, n: int):
        if array.ndim != 2 or array.shape[1] != output_size(n):
            raise ValueError(f"rig outputs must be (rows, {output_size(n)}) for {n} floors, "
                             f"got {array.shape}")
        self.array = array
        self.n = n

    def __len__(self) -> int:
        return self.array.shape[0]

    def _column(j, doc):  # noqa: N805 (a property factory used in the class body only)
        return property(lambda self: self.array[:, j], doc=doc)

    t = _column(O_T, "time of each row, s")
    theta = _column(O_TH, "motor shaft angle, rad")
    omega = _column(O_OM, "motor speed, rad/s")
    duty = _column(O_DUTY, "driver duty in force, -1..1")
    torque = _column(O_TE, "electromagnetic torque, N m")
    table_disp = _column(O_XG, "table displacement, m")
    table_vel = _column(O_VG, "table velocity, m/s")
    table_acc = _column(O_AG, "table acceleration, m/s^2")
    winding_temp = _column(O_TW, "winding temperature, degC")
    actuator_force = _column(O_FACT, "coil force Bl i on the actuator floor, N")
    base_shear = _column(O_VB, "base shear the structure exerts on the table, 1'(K u + C u'), N")
    speed_ref = _column(O_REF, "ramped speed reference, rad/s (motor shaft)")
    del _column

    @property
    def phase_currents(self) -> np.ndarray:
        """i_a, i_b, i_c, (rows, 3) A."""
        return self.array[:, O_IA:O_IC + 1]

    def phase_current(self, phase: str) -> np.ndarray:
        """The current of phase 'a', 'b' or 'c', A."""
        return self.array[:, O_IA + "abc".index(phase)]

    @property
    def floor_disp(self) -> np.ndarray:
        """Floor displacements relative to the table, (rows, n) m."""
        return self.array[:, O_U:O_U + self.n]

    @property
    def floor_vel(self) -> np.ndarray:
        """Floor velocities relative to the table, (rows, n) m/s."""
        return self.array[:, O_U + self.n:O_U + 2 * self.n]

    @property
    def floor_abs_acc(self) -> np.ndarray:
        """Absolute floor accelerations (what accelerometers read), (rows, n) m/s^2."""
        return self.array[:, O_U + 2 * self.n:O_U + 3 * self.n]


def run(system: RigSystem, x: np.ndarray, command: RigCommand, dt: float, n_steps: int,
        out_every: int = 1, forces=None, base_acc=None, t0: float = 0.0) -> RigOutputs:
    """Advance state x in place by n_steps of dt; return the output rows, named.

    forces: (n_steps, n) floor forces, N, or (n_steps, n + 1) with the last column on the
    actuator's proof mass (an inertial load such as -m_p a_amb must reach it too); base_acc:
    (n_steps,) table acceleration, m/s^2, used under TABLE_PRESCRIBED. Both at the physics
    rate; None means zero."""
    n = system.n
    if not isinstance(x, np.ndarray) or x.dtype != np.float64 or x.shape != (state_size(n),):
        raise ValueError(f"state x must be a float64 array of shape ({state_size(n)},) for "
                         f"{n} floors, got {getattr(x, 'dtype', type(x).__name__)} "
                         f"{getattr(x, 'shape', '')}")
    if n_steps < 0 or out_every < 1:
        raise ValueError(f"need n_steps >= 0 and out_every >= 1, got {n_steps}, {out_every}")
    f = np.zeros((n_steps, n + 1))
    if forces is not None:
        given = np.asarray(forces, dtype=float)
        if given.shape not in ((n_steps, n), (n_steps, n + 1)):
            raise ValueError(f"forces must have shape (n_steps, n) = ({n_steps}, {n}) or "
                             f"(n_steps, n + 1), got {given.shape}")
        f[:, :given.shape[1]] = given
    ag = np.zeros(n_steps) if base_acc is None else np.ascontiguousarray(base_acc, dtype=float)
    if ag.shape != (n_steps,):
        raise ValueError(f"base_acc must have shape (n_steps,) = ({n_steps},), got {ag.shape}")
    out = rig_run(x, system.p, command.vector(system.crank.gear_ratio), f, ag, system.M_inv,
                  system.K, system.C, float(dt), int(n_steps), int(out_every), float(t0))
    return RigOutputs(out, n)


# ---------------------------------------------------------------------------------------------
# Sensor quantities: the one table from a scene sensor's `quantity` to the rig's true value
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SensorQuantity:
    """How the true value a sensor measures is read from the rig's outputs.

    read(out, system, floor, phase) -> (rows,) in the quantity's physical unit; `floor` (1..n)
    and `phase` ('a'|'b'|'c') are the sensor's own fields, used where the quantity needs them.
    """

    read: object  # Callable[[RigOutputs, RigSystem, int, str], np.ndarray]
    # accelerometers measure absolute acceleration, so table shaking that the kernel does not
    # carry as table motion (the rig's ambient part) must be added to their readings
    absolute_acceleration: bool = False


SENSOR_QUANTITIES: dict[str, SensorQuantity] = {
    "table_acceleration": SensorQuantity(lambda o, s, floor, phase: o.table_acc, True),
    "floor_acceleration": SensorQuantity(
        lambda o, s, floor, phase: o.floor_abs_acc[:, floor - 1], True),
    "actuator_force": SensorQuantity(lambda o, s, floor, phase: o.actuator_force),
    "motor_speed": SensorQuantity(lambda o, s, floor, phase: o.omega / RPM),  # motor shaft, rpm
    "phase_current": SensorQuantity(lambda o, s, floor, phase: o.phase_current(phase)),
    # the bus is an ideal source in the model: the true value is the rated voltage
    "bus_voltage": SensorQuantity(
        lambda o, s, floor, phase: np.full(len(o), s.motor.bus_voltage_v)),
    "winding_temperature": SensorQuantity(lambda o, s, floor, phase: o.winding_temp),
}


def sensor_truth(out: RigOutputs, system: RigSystem, quantity: str, floor: int = 0,
                 phase: str = "") -> np.ndarray:
    """The true value of a sensor quantity (a SENSOR_QUANTITIES key) at each output row."""
    try:
        q = SENSOR_QUANTITIES[quantity]
    except KeyError:
        raise ValueError(f"unknown sensor quantity {quantity!r} (allowed: "
                         f"{', '.join(SENSOR_QUANTITIES)})") from None
    return q.read(out, system, floor, phase)


def stored_energy(system: RigSystem, x: np.ndarray) -> float:
    """Kinetic, magnetic and strain energy held in the rig at state x, J."""
    n = system.n
    p = system.p
    i = x[S_IA:S_IC + 1]
    u = x[S_U:S_U + n]
    v = x[S_U + n:S_U + 2 * n]
    vg = x[S_VG]
    e = 0.5 * p[P_L] * float(i @ i) + 0.5 * p[P_J] * x[S_OM] ** 2 + 0.5 * p[P_MT] * vg**2
    va = v + vg
    e += 0.5 * float(va @ system.M @ va) + 0.5 * float(u @ system.K @ u)
    if system.actuator is not None:
        af = system.actuator.floor - 1
        zp, vp = x[S_U + 2 * n], x[S_U + 2 * n + 1]
        e += 0.5 * p[P_MP] * (vp + vg) ** 2 + 0.5 * p[P_KACT] * (zp - u[af]) ** 2
    return e


def energy_residual(system: RigSystem, x0: np.ndarray, x1: np.ndarray) -> tuple[float, float]:
    """(change in stored energy - net work in, total work scale): zero for an exact integrator."""
    w = x1 - x0
    work_in = w[S_WBUS] - w[S_WCU] - w[S_WFR] - w[S_WSD] - w[S_WAD] + w[S_WCOIL] + w[S_WEXT] \
        + w[S_WTAB]
    scale = abs(w[S_WBUS]) + abs(w[S_WCU]) + abs(w[S_WFR]) + abs(w[S_WSD]) + abs(w[S_WEXT]) \
        + abs(w[S_WTAB]) + abs(w[S_WCOIL])
    return stored_energy(system, x1) - stored_energy(system, x0) - work_in, scale
