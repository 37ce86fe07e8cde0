"""Reproduce paper 004 (charger-battery qubits): Figs. 2-4, constants, formula checks, dissipation."""

from __future__ import annotations

import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .._ergotropy import capacity, energy, ergotropy, passive_energy
from ..models import charger_battery as cb
from ..models.charger_battery import ChargerBattery
from .._states import concurrence, partial_trace
from .report import Report, pyplot

THETA_LABELS = [(0.0, "0"), (np.pi / 4, "pi/4"), (np.pi / 2, "pi/2"), (3 * np.pi / 4, "3pi/4"), (np.pi, "pi")]
_COLOURS = ["tab:green", "tab:olive", "tab:blue", "tab:purple", "tab:red"]


def _numerics(theta, ts, gamma=0.0):
    """Energy, passive energy, ergotropy, capacity, concurrence, variance from qbjax's evolution."""
    m = ChargerBattery(theta, gamma=gamma)
    rho = m.evolve(ts)
    rb = partial_trace(rho, (2, 2), keep=1)
    Hb = m.battery_hamiltonian()
    return {
        "energy": energy(rb, Hb),
        "passive_energy": passive_energy(rb, Hb),
        "ergotropy": ergotropy(rb, Hb),
        "capacity": capacity(rb, Hb),
        "concurrence": concurrence(rho),
        "variance": energy(rb, Hb @ Hb) - energy(rb, Hb) ** 2,
        "coherence": jnp.abs(rb[:, 0, 1]),
        "inversion": jnp.real(rb[:, 1, 1]) - 0.5,
    }


def _stack(dicts):
    """List of dicts of scalars -> dict of NumPy arrays.  (A Python loop: one compiled optimiser
    reused per model is faster here than vmapping expm's scaling-and-squaring branches.)"""
    return {k: np.array([float(d[k]) for d in dicts]) for k in dicts[0]}


def run(out_dir, quick: bool = False, smoke: bool = False) -> Path:
    """``quick``: 301 time points, 31 thetas.  ``smoke`` (CI): 61 time points, 3 thetas, a 201-point
    optimal-time grid and 3 decay rates (rough numbers, every table and figure)."""
    plt = pyplot()

    t_start = time.perf_counter()
    rep = Report("Charging a quantum battery from the Bloch sphere (paper 004)", out_dir, smoke=smoke)
    rep.text(
        "Charger qubit in cos(theta/2)|0> + e^{i phi} sin(theta/2)|1>, battery qubit in |0>, "
        "H = w_b (sa^dag sa + sb^dag sb) + J (sa^dag sb + h.c.), optional charger decay gamma D[sa]. "
        "Units: w_b = J = 1 unless stated. Every 'qbjax' number below comes from the numerical "
        "evolution (`qb.evolve`, diffrax, rtol 1e-10) or the exact propagator exp(L t) followed by "
        "`qb.ergotropy` etc.; the 'paper' column holds the published formulas or printed digits.",
        "**Errata followed.** Eq. (60) repeats sa^dag sa rho: the dissipator is the standard "
        "gamma D[sa]. Eqs. (24) and (28) lack a factor -i: <sa^dag sb> = -(i/2) sin^2(theta/2) sin(2Jt) and "
        "<sb> = -(i/2) e^{i phi} sin(theta) sin(Jt) e^{-i w_b t}. In Eq. (36) sin^2(2Jt) must read sin^2(Jt). "
        "Eqs. (65)-(68) are first order in gamma (error ~ gamma^2).",
    )
    n_t = 61 if smoke else 301 if quick else 601
    n_grid = 201 if smoke else 801
    ts = jnp.linspace(1e-3, 2 * np.pi, n_t)
    tsn = np.asarray(ts)

    # ---- constants ------------------------------------------------------------------------------
    rep.section("Constants (qbjax root finding vs the paper's printed digits)")
    c = {k: float(v) for k, v in cb.constants().items()}
    printed = {"A": 1.165, "B": 0.724, "C": 1.399, "D": 0.673, "K": 0.306, "L": 0.262}
    for k, v in printed.items():
        rep.check(f"{k}", v, c[k], tol=1e-3, note="printed to 3 decimals (truncated)")
    rep.checks_table()
    rep.checks = []

    # ---- formula checks -------------------------------------------------------------------------
    rep.section("Closed forms vs numerical evolution (max |difference| over t in (0, 2pi/J])")
    rows = []
    worst = 0.0
    for theta, label in THETA_LABELS:
        num = _numerics(theta, ts)
        cf = cb.closed_form(theta, ts)
        for key, eq in [("energy", "30"), ("ergotropy", "38"), ("capacity", "57"), ("concurrence", "59"),
                        ("variance", "36 (corrected)"), ("passive_energy", "48"), ("inversion", "55"),
                        ("coherence", "56")]:
            err = float(jnp.max(jnp.abs(num[key] - cf[key])))
            worst = max(worst, err)
            rows.append([f"theta = {label}", f"Eq. ({eq}) {key}", err])
    for gamma in [0.1, 0.5]:
        for theta, label in [(np.pi / 2, "pi/2"), (np.pi, "pi")]:
            num = _numerics(theta, ts, gamma=gamma)
            cf = cb.closed_form(theta, ts, gamma=gamma)
            for key, eq in [("energy", "62"), ("ergotropy", "69"), ("capacity", "70"),
                            ("concurrence", "derived here")]:
                err = float(jnp.max(jnp.abs(num[key] - cf[key])))
                worst = max(worst, err)
                rows.append([f"theta = {label}, gamma = {gamma}", f"Eq. ({eq}) {key}", err])
    rep.table(["case", "formula", "max |numerics - formula|"], rows)
    pv = cb.published_variance(np.pi / 2, ts)
    err_printed = float(jnp.max(jnp.abs(pv - _numerics(np.pi / 2, ts)["variance"])))
    rep.text(
        f"Largest deviation of any formula from the numerics: {worst:.2e}. "
        f"The printed Eq. (36) (with sin^2(2Jt)) deviates by up to {err_printed:.3f} at theta = pi/2: "
        "it is the erratum named above, and with sin^2(Jt) the variance agrees with the numerics and "
        "with Eq. (37)."
    )

    # ---- optimal times --------------------------------------------------------------------------
    rep.section("Optimal times and peaks (numerical maximisation of the evolved state)")
    n_theta = 3 if smoke else 31 if quick else 91
    thetas = jnp.linspace(0.02, np.pi, n_theta)
    opt = _stack([ChargerBattery(th).optimal_times(n_grid=n_grid) for th in thetas])
    s2 = np.sin(np.asarray(thetas) / 2) ** 2
    rep.check("t_E (Eq. 31) = pi/2", np.pi / 2, opt["t_E"][-1], tol=1e-6, note="theta = pi")
    rep.check("t_erg (Eq. 40) = pi/2", np.pi / 2, opt["t_erg"][len(thetas) // 2], tol=1e-6, note="theta ~ pi/2")
    rep.check("t_P (Eq. 34) = A", c["A"], opt["t_P"][-1], tol=1e-6, note="theta = pi")
    rep.check("P(t_P) (Eq. 35) = B", c["B"], opt["P_max"][-1], tol=1e-9, note="theta = pi")
    rep.check("t_Pe(pi) (Eq. 42) = C", c["C"], opt["t_Pe"][-1], tol=1e-6)
    rep.check("Pe(t_Pe)(pi) (Eq. 44) = D", c["D"], opt["Pe_max"][-1], tol=1e-9)
    rep.check("t_Pe(theta -> 0) (Eq. 42) = A", c["A"], opt["t_Pe"][0], tol=1e-3,
              note=f"theta = {float(thetas[0]):.2f}")
    rep.check("max_theta |E(t_E) - w s2| (Eq. 32)", 0.0, np.max(np.abs(opt["E_max"] - s2)), tol=1e-9)
    rep.check("max_theta |erg(t_erg) - w s2| (Eq. 41)", 0.0, np.max(np.abs(opt["erg_max"] - s2)), tol=1e-9)
    err43 = np.abs(opt["t_Pe"] - np.asarray(cb.approx_t_Pe(thetas)))
    err45 = np.abs(opt["Pe_max"] - np.asarray(cb.approx_Pe_max(thetas)))
    rep.check("max error of Eq. (43) approximation of t_Pe", 5.4e-3, err43.max(), tol=5e-4,
              note=f"at theta = {float(thetas[err43.argmax()]):.3f}; reference: an independent NumPy maximisation")
    rep.check("max error of Eq. (45) approximation of Pe_max", 1.8e-2, err45.max(), tol=2e-3,
              note=f"at theta = {float(thetas[err45.argmax()]):.3f}; reference: an independent NumPy maximisation")
    rep.checks_table()
    rep.checks = []

    # ---- dissipation ----------------------------------------------------------------------------
    rep.section("Dissipative charger (Sec. 8)")
    gammas = np.array([0.05, 0.1, 0.5] if smoke else [0.05, 0.1, 0.2, 0.3, 0.5])  # [1] = 0.1, [-1] = 0.5
    theta_d = np.pi
    dopt = _stack([ChargerBattery(theta_d, gamma=g).optimal_times(n_grid=n_grid) for g in gammas])
    rows = []
    for i, g in enumerate(gammas):
        f = cb.dissipative_optima(theta_d, gamma=float(g))
        rows.append([f"{g:g}", dopt["t_E"][i], float(f["t_E_exact"]), float(f["t_E_first_order"]),
                     dopt["E_max"][i], float(f["E_max_exact"]), float(f["E_max_first_order"]),
                     dopt["t_P"][i], float(f["t_P_first_order"]), dopt["P_max"][i], float(f["P_max_first_order"])])
    rep.table(["gamma", "t_E qbjax", "Eq. 63", "Eq. 65", "E_max qbjax", "Eq. 64", "Eq. 66",
               "t_P qbjax", "Eq. 67", "P_max qbjax", "Eq. 68"], rows)
    rep.text(
        "theta = pi, J = w_b = 1. Eqs. (63)-(64) are exact and agree with the numerics to solver accuracy; "
        "the first-order Eqs. (65)-(68) drift from the numerics as gamma^2 (at gamma = 0.5 the Eq. (65) "
        f"error is {abs(dopt['t_E'][-1] - rows[-1][3]):.2e} against "
        f"{abs(dopt['t_E'][1] - rows[1][3]):.2e} at gamma = 0.1)."
    )

    # ---- figures --------------------------------------------------------------------------------
    rep.section("Figures")
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    for (theta, label), col in zip(THETA_LABELS, _COLOURS):
        cf = cb.closed_form(theta, ts)
        num = _numerics(theta, ts)
        ax[0].plot(tsn, num["energy"], color=col, label=f"theta = {label}")
        ax[0].plot(tsn[::20], np.asarray(cf["energy"])[::20], "o", ms=3, color=col)
        ax[1].plot(tsn, num["energy"] / tsn, color=col)
    ax[0].axvline(np.pi / 2, ls="--", c="grey")
    ax[1].axvline(c["A"], ls="--", c="grey")
    ax[1].set_ylim(0, 1.0)
    ax[0].set(xlabel="J t", ylabel="E / w_b", title="(a) stored energy (lines: qbjax, dots: Eq. 30)")
    ax[1].set(xlabel="J t", ylabel="P / (w_b J)", title="(b) charging power")
    ax[0].legend(fontsize=7)
    th = np.asarray(thetas)
    ax[2].plot(th, opt["E_max"], c="purple", label="E(t_E) / w_b")
    ax[2].plot(th, opt["P_max"] / c["B"], c="gold", ls="--", label="P(t_P) / (B w_b J)")
    ax[2].plot(th, np.sin(th) / 2, c="green", lw=0.8, label="sigma_E(t_E) (Eq. 37)")
    ax[2].set(xlabel="theta", title="(c) optima vs theta")
    ax[2].legend(fontsize=7)
    rep.figure(fig, "fig2_energetics", "Fig. 2: energy, power and their optima vs theta")

    fig, ax = plt.subplots(2, 3, figsize=(13, 7))
    for col_i, theta in enumerate([np.pi / 2, np.pi]):
        num = _numerics(theta, ts)
        ax[0, col_i].plot(tsn, num["energy"], c="pink", label="E")
        ax[0, col_i].plot(tsn, num["passive_energy"], c="cyan", label="passive")
        ax[0, col_i].plot(tsn, num["ergotropy"], c="red", lw=2, label="ergotropy")
        ax[0, col_i].set(xlabel="J t", title=f"theta = {'pi/2' if col_i == 0 else 'pi'}")
        ax[0, col_i].legend(fontsize=7)
        ax[1, col_i].plot(tsn, num["energy"] / tsn, c="pink", label="P")
        ax[1, col_i].plot(tsn, num["passive_energy"] / tsn, c="cyan", label="passive power")
        ax[1, col_i].plot(tsn, num["ergotropy"] / tsn, c="red", lw=2, label="ergotropic power")
        ax[1, col_i].set(xlabel="J t", ylim=(0, 1))
        ax[1, col_i].legend(fontsize=7)
    ax[0, 2].plot(th, opt["t_E"], c="purple", label="t_E = t_erg")
    ax[0, 2].plot(th, opt["t_P"], c="pink", label="t_P")
    ax[0, 2].plot(th, opt["t_Pe"], c="gold", lw=2, label="t_Pe")
    ax[0, 2].plot(th, cb.approx_t_Pe(thetas), c="orange", ls="--", label="Eq. (43)")
    ax[0, 2].set(xlabel="theta", ylabel="J t", title="(e) optimal times")
    ax[0, 2].legend(fontsize=7)
    ax[1, 2].plot(th, opt["E_max"], c="purple", label="E(t_E) = erg(t_erg)")
    ax[1, 2].plot(th, opt["P_max"], c="pink", label="P(t_P)")
    ax[1, 2].plot(th, opt["Pe_max"], c="gold", lw=2, label="Pe(t_Pe)")
    ax[1, 2].plot(th, cb.approx_Pe_max(thetas), c="orange", ls="--", label="Eq. (45)")
    ax[1, 2].set(xlabel="theta", title="(f) peaks")
    ax[1, 2].legend(fontsize=7)
    rep.figure(fig, "fig3_thermodynamics", "Fig. 3: energy, passive energy, ergotropy and powers; optimal times and peaks")

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    for i, theta in enumerate([np.pi / 2, np.pi]):
        num = _numerics(theta, ts)
        ax[i].plot(tsn, num["ergotropy"], c="red", label="ergotropy")
        ax[i].plot(tsn, num["capacity"], c="cyan", ls="--", label="capacity")
        ax[i].plot(tsn, num["inversion"], c="green", label="inversion I")
        ax[i].plot(tsn, num["coherence"], c="gold", label="coherence C")
        ax[i].set(xlabel="J t", title=f"({'ab'[i]}) theta = {'pi/2' if i == 0 else 'pi'}")
        ax[i].legend(fontsize=7)
    for (theta, label), col in zip(THETA_LABELS, _COLOURS):
        ax[2].plot(tsn, _numerics(theta, ts)["concurrence"], color=col, label=f"theta = {label}")
    ax[2].set(xlabel="J t", title="(c) concurrence")
    ax[2].legend(fontsize=7)
    rep.figure(fig, "fig4_mechanisms", "Fig. 4: inversion/coherence decomposition and concurrence")

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    for g, col in zip([0.0, 0.1, 0.3, 0.5], ["k", "tab:blue", "tab:orange", "tab:red"]):
        num = _numerics(np.pi, ts, gamma=g)
        ax[0].plot(tsn, num["energy"], color=col, label=f"gamma = {g}")
        ax[1].plot(tsn, num["ergotropy"], color=col)
    ax[0].set(xlabel="J t", title="energy, theta = pi")
    ax[1].set(xlabel="J t", title="ergotropy, theta = pi")
    ax[0].legend(fontsize=7)
    ax[2].plot(gammas, dopt["t_E"], "o-", label="t_E qbjax")
    ax[2].plot(gammas, [r[2] for r in rows], "k--", label="Eq. (63)")
    ax[2].plot(gammas, [r[3] for r in rows], ":", label="Eq. (65)")
    ax[2].plot(gammas, dopt["t_P"], "s-", label="t_P qbjax")
    ax[2].plot(gammas, [r[8] for r in rows], ":", label="Eq. (67)")
    ax[2].set(xlabel="gamma / J", ylabel="J t", title="optimal times with charger decay")
    ax[2].legend(fontsize=7)
    rep.figure(fig, "fig_dissipation", "Sec. 8: charger decay; exact Eq. (63) vs first-order Eqs. (65), (67)")

    rep.text(f"Wall time: {time.perf_counter() - t_start:.1f} s.")
    return rep.write()
