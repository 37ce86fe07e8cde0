"""The figures of `qbjax reproduce charger` (paper 004, Figs. 2-4 and Sec. 8), one function each.

Each takes the report, the results of :func:`qbjax.reproduce.charger._compute` and pyplot, draws one
figure from those results only and adds it with its caption.
"""

from __future__ import annotations

import numpy as np

from .._figures import roundoff_to_zero

_COLOURS = ["tab:green", "tab:olive", "tab:blue", "tab:purple", "tab:red"]
_JT = "J t (dimensionless)"
_THETA = "θ, Bloch polar angle (rad)"


def _pi_ticks(ax, top: float, step: float) -> None:
    """x ticks at multiples of ``step`` (a fraction of pi) up to ``top``, labelled in units of pi."""
    k = np.arange(0, top / (step * np.pi) + 1e-9)
    labels = {0: "0", 0.25: "π/4", 0.5: "π/2", 0.75: "3π/4", 1: "π", 1.5: "3π/2", 2: "2π"}
    ax.set_xticks(k * step * np.pi)
    ax.set_xticklabels([labels.get(round(x * step, 2), f"{x * step:g}π") for x in k])


def _angles(res) -> list:
    """(theta, label with the Greek pi) of the five angles of Figs. 2 and 4."""
    return [(theta, label.replace("pi", "π")) for theta, label in res["theta_labels"]]


def _legend(ax) -> None:
    ax.legend(fontsize=7, framealpha=0.85)


def fig_energetics(rep, res, plt) -> None:
    """Fig. 2: stored energy and power vs time for five thetas, their optima vs theta."""
    ts, num, closed, o = res["ts"], res["curves"]["num"], res["curves"]["closed"], res["optima"]
    step = max(1, len(ts) // 25)
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for (theta, label), col in zip(_angles(res), _COLOURS):
        ax[0].plot(ts, num[theta, 0.0]["energy"], color=col, label=f"θ = {label}")
        ax[0].plot(ts[::step], closed[theta]["energy"][::step], "o", ms=3, color=col)
        ax[1].plot(ts, num[theta, 0.0]["power"], color=col)
    ax[0].axvline(np.pi / 2, ls="--", c="grey", label="t_E = π/(2J), Eq. (31)")
    ax[1].axvline(res["constants"]["A"], ls="--", c="grey", label="t_P = A/J, Eq. (34)")
    ax[1].set_ylim(0, 1.0)
    ax[0].set(xlabel=_JT, ylabel="E (units of w_b)", title="(a) stored energy (lines: qbjax, dots: Eq. 30)")
    ax[1].set(xlabel=_JT, ylabel="P = E/t (units of w_b J)", title="(b) charging power")
    for a in ax[:2]:
        _pi_ticks(a, 2 * np.pi, 0.5)
        _legend(a)
    th, opt = o["thetas"], o["opt"]
    ax[2].plot(th, opt["E_max"], ".-", c="purple", label="E(t_E) / w_b")
    ax[2].plot(th, opt["P_max"] / res["constants"]["B"], ".--", c="gold", label="P(t_P) / (B w_b J)")
    ax[2].plot(th, o["sigma_eq37"], c="green", lw=0.8, label="σ_E(t_E) / w_b, Eq. (37)")
    ax[2].plot(th, o["sigma_numerics"], "x", ms=4, c="green", label="σ_E(t_E) / w_b, qbjax")
    ax[2].set(xlabel=_THETA, ylabel="peak / scale (dimensionless)", title="(c) optima vs θ")
    _pi_ticks(ax[2], np.pi, 0.25)
    _legend(ax[2])
    rep.figure(fig, "fig2_energetics",
               f"Fig. 2: (a) stored energy and (b) charging power vs time for {len(res['theta_labels'])} polar "
               f"angles (qbjax evolution, {len(ts)} times; dots: Eq. (30)); (c) numerical optima on {len(th)} angles, "
               "with Eq. (37) and the numerical sigma_E(t_E). J = w_b = 1, gamma = 0")


def fig_thermodynamics(rep, res, plt) -> None:
    """Fig. 3: energies and powers at theta = pi/2 and pi, optimal times and peaks vs theta."""
    ts, num, o = res["ts"], res["curves"]["num"], res["optima"]
    fig, ax = plt.subplots(2, 3, figsize=(13, 7), layout="constrained", sharex="col")
    for col_i, (theta, label) in enumerate([(np.pi / 2, "π/2"), (np.pi, "π")]):
        n = num[theta, 0.0]
        top, bottom = ax[0, col_i], ax[1, col_i]
        top.plot(ts, n["energy"], c="pink", label="E")
        top.plot(ts, n["passive_energy"], c="cyan", label="passive energy")
        top.plot(ts, roundoff_to_zero(n["ergotropy"]), c="red", lw=2, label="ergotropy")
        top.set(ylabel="energy (units of w_b)", title=f"({'ac'[col_i]}) θ = {label}")
        bottom.plot(ts, n["power"], c="pink", label="P = E/t")
        bottom.plot(ts, n["passive_energy"] / ts, c="cyan", label="passive power")
        bottom.plot(ts, roundoff_to_zero(n["ergotropic_power"]), c="red", lw=2, label="ergotropic power")
        bottom.set(xlabel=_JT, ylabel="power (units of w_b J)", ylim=(0, 1), title=f"({'bd'[col_i]}) θ = {label}")
        _pi_ticks(bottom, 2 * np.pi, 0.5)
        _legend(top)
        _legend(bottom)
    th, opt = o["thetas"], o["opt"]
    ax[0, 2].plot(th, opt["t_E"], c="purple", label="t_E = t_erg")
    ax[0, 2].plot(th, opt["t_P"], c="pink", label="t_P")
    ax[0, 2].plot(th, opt["t_Pe"], c="gold", lw=2, label="t_Pe")
    ax[0, 2].plot(th, o["approx_t_Pe"], c="orange", ls="--", label="Eq. (43)")
    ax[0, 2].set(ylabel="optimal time J t (dimensionless)", title="(e) optimal times")
    ax[1, 2].plot(th, opt["E_max"], c="purple", label="E(t_E) = erg(t_erg)")
    ax[1, 2].plot(th, opt["P_max"], c="pink", label="P(t_P)")
    ax[1, 2].plot(th, opt["Pe_max"], c="gold", lw=2, label="Pe(t_Pe)")
    ax[1, 2].plot(th, o["approx_Pe_max"], c="orange", ls="--", label="Eq. (45)")
    ax[1, 2].set(xlabel=_THETA, ylabel="peak (units of w_b; powers w_b J)", title="(f) peaks")
    _pi_ticks(ax[1, 2], np.pi, 0.25)
    _legend(ax[0, 2])
    _legend(ax[1, 2])
    rep.figure(fig, "fig3_thermodynamics",
               "Fig. 3: energy, passive energy, ergotropy (a, c) and the matching powers (b, d) at theta = "
               f"pi/2 and pi (qbjax evolution, {len(ts)} times); (e) numerical optimal times and (f) peaks "
               f"on {len(th)} angles with the paper's approximations Eqs. (43), (45). J = w_b = 1, gamma = 0")


def fig_mechanisms(rep, res, plt) -> None:
    """Fig. 4: ergotropy, capacity, inversion and coherence at theta = pi/2, pi; concurrence."""
    ts, num = res["ts"], res["curves"]["num"]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for i, (theta, label) in enumerate([(np.pi / 2, "π/2"), (np.pi, "π")]):
        n = num[theta, 0.0]
        ax[i].plot(ts, roundoff_to_zero(n["ergotropy"]), c="red", label="ergotropy")
        ax[i].plot(ts, n["capacity"], c="cyan", ls="--", label="capacity K")
        ax[i].plot(ts, n["inversion"], c="green", label="inversion I")
        ax[i].plot(ts, roundoff_to_zero(n["coherence"]), c="gold", label="coherence C")
        ax[i].set(xlabel=_JT, ylabel="erg., K (units of w_b); I, C (dimensionless)",
                  title=f"({'ab'[i]}) θ = {label}")
        _legend(ax[i])
    for (theta, label), col in zip(_angles(res), _COLOURS):
        ax[2].plot(ts, roundoff_to_zero(num[theta, 0.0]["concurrence"]), color=col, label=f"θ = {label}")
    ax[2].set(xlabel=_JT, ylabel="concurrence (dimensionless)", title="(c) concurrence")
    _legend(ax[2])
    for a in ax:
        _pi_ticks(a, 2 * np.pi, 0.5)
    rep.figure(fig, "fig4_mechanisms",
               "Fig. 4: (a, b) ergotropy, capacity, population inversion I and coherence C of the battery "
               f"qubit at theta = pi/2 and pi; (c) charger-battery concurrence for {len(res['theta_labels'])} "
               f"angles (qbjax evolution, {len(ts)} times; round-off zeros drawn as 0). J = w_b = 1, gamma = 0")


def fig_dissipation(rep, res, plt) -> None:
    """Sec. 8: energy and ergotropy with charger decay, and the optimal times vs gamma."""
    ts, num, d = res["ts"], res["curves"]["num"], res["dissipation"]
    gammas = res["fig_gammas"]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    for g, col in zip(gammas, ["k", "tab:blue", "tab:orange", "tab:red", "tab:purple"]):
        ax[0].plot(ts, num[np.pi, g]["energy"], color=col, label=f"γ = {g:g} J")
        ax[1].plot(ts, roundoff_to_zero(num[np.pi, g]["ergotropy"]), color=col, label=f"γ = {g:g} J")
    ax[0].set(xlabel=_JT, ylabel="E (units of w_b)", title="(a) energy, θ = π")
    ax[1].set(xlabel=_JT, ylabel="ergotropy (units of w_b)", title="(b) ergotropy, θ = π")
    for a in ax[:2]:
        _pi_ticks(a, 2 * np.pi, 0.5)
        _legend(a)
    g, o, f = d["gammas"], d["opt"], d["formulas"]
    ax[2].plot(g, o["t_E"], "o-", label="t_E qbjax")
    ax[2].plot(g, f["t_E_exact"], "k--", label="Eq. (63)")
    ax[2].plot(g, f["t_E_first_order"], ":", label="Eq. (65)")
    ax[2].plot(g, o["t_P"], "s-", label="t_P qbjax")
    ax[2].plot(g, f["t_P_first_order"], ":", label="Eq. (67)")
    ax[2].set(xlabel="γ, charger decay rate (units of J)", ylabel="optimal time J t (dimensionless)",
              title="(c) optimal times with charger decay")
    _legend(ax[2])
    rep.figure(fig, "fig_dissipation",
               f"Sec. 8: (a) energy and (b) ergotropy at theta = pi for gamma = {', '.join(f'{x:g}' for x in gammas)} "
               f"(qbjax evolution, {len(ts)} times); (c) numerical optimal times at {len(g)} decay rates with "
               "the exact Eq. (63) and the first-order Eqs. (65), (67). J = w_b = 1")
