"""The figure sections of the paper-003 report (Tavis-Cummings battery): one function per figure, and the
tables and sentences that read that figure's data.  Each takes the report and the results dict ``R`` of
:func:`qbjax.reproduce.tavis_cummings.run` (``R["cfg"]``: grids and parameters, ``R["res"]``: solves per N,
``R["opt"]``: optima, ``R["adv"]``: A(N)).  Every number and verdict in the sentences is computed from ``R``,
with the threshold of each verdict stated.  Units: energies, detunings, rates in w_b; times in 1/w_b.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    MultipleLocator,
    NullLocator,
)

from .._figures import roundoff_to_zero
from .paper import TC_BETA, TC_TABLE_I
from .report import fmt, pyplot

DELTA_LABEL = "Delta (units of w_b)"
N_LABEL = "N (qubits, dimensionless)"
LOG_FLOOR = 1e-3  # optima at Delta = 0 drawn at this height on the log axis of Fig. 3a
# the paper's statements quoted by the report (text of paper 003), not computed here
PAPER_A2 = {"A": 0.93, "B": 1.0}  # Sec. IV.C: A(2) "approximately 0.93" (env A), "value 1.0" (env B)
RWA_THRESHOLD = 0.1  # Fig. 4: the "RWA breakdown threshold" g sqrt(N) / w_b = 0.1
# thresholds of the report's verdicts (each is stated next to its verdict)
TABLE_TOL = 1e-4  # one unit of Table I's 4th decimal
ZERO_TOL = 1e-10  # an ergotropy below this (units of w_b) is zero up to round-off
STATIONARY = 0.01  # gradient ascent ends stationary if |dE/dDelta| <= STATIONARY * E
CORR_INVERSE = -0.5  # "inverse relationship": Pearson correlation at or below this
FUNCTIONAL_KEY = {"published": "ergotropy_published", "physical": "ergotropy"}
ENV_COLOUR = {"A": "tab:blue", "B": "tab:red"}


def count(k, n) -> str:
    """'all 8', 'none of the 8' or '5 of 8'."""
    return f"all {n}" if k == n else f"none of the {n}" if k == 0 else f"{k} of {n}"


def trend(values, tol=0.0) -> str:
    """'rises', 'falls' or 'stays flat' from the first to the last value (beyond ``tol``)."""
    d = float(values[-1] - values[0])
    return "rises" if d > tol else "falls" if d < -tol else "stays flat"


def f3(x) -> str:
    return f"{x:.3f}" if np.isfinite(x) else "-"


def _nums(values) -> str:
    return " ".join(f3(v) for v in values)


def _integer_axis(ax, values, log=False):
    """Ticks at the integers ``values`` only, printed plainly (also on a log axis)."""
    ax.set_xticks(list(values))
    if log:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())


def _log_ticks(ax, most=7) -> None:
    """Plain-number ticks at 1, 1.5, 2, 3, 4, 5, 7 times powers of ten inside the y range (thinned to ``most``)."""
    lo, hi = ax.get_ylim()
    ticks = [m * 10.0**k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
             for m in (1, 1.5, 2, 3, 4, 5, 7) if lo <= m * 10.0**k <= hi]
    ticks = ticks[::-(-len(ticks) // most)] if ticks else ticks
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())


def fig_dynamics(rep, R, functional: str) -> None:
    """Fig. 1: E(t) of one functional at Delta = 0 and Delta*, and D(t) of the BLP pair (right axis)."""
    plt = pyplot()
    cfg, key = R["cfg"], FUNCTIONAL_KEY[functional]
    Ns, ts = cfg["Ns"], cfg["ts"]
    fig, axes = plt.subplots(len(Ns), 2, figsize=(11, 2.6 * len(Ns) + 0.8), sharex=True, squeeze=False,
                             layout="constrained")
    for r, N in enumerate(Ns):
        for c, env in enumerate("AB"):
            ax, tb = axes[r, c], R["res"][N][f"table{env}"]
            ax.plot(ts, roundoff_to_zero(tb[key][0]), "--", color="k")
            ax.plot(ts, roundoff_to_zero(tb[key][1]), "-", color="tab:red")
            ax.axhline(N, color="gray", lw=0.8, ls=":")
            ax2 = ax.twinx()
            ax2.plot(ts, tb["trace_distance"][0], ":", color="tab:green")
            ax2.plot(ts, tb["trace_distance"][1], "-.", color="tab:green")
            ax2.set_ylim(0, 1.05)
            ax2.set_ylabel("D (dimensionless)", color="tab:green")
            ax2.yaxis.set_major_locator(MaxNLocator(3))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.xaxis.set_major_locator(MultipleLocator(5))
            ax.set_title(f"N = {N}, environment {env}", fontsize=10)
            ax.set_ylabel(f"E, {functional} (units of w_b)", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("t (1/w_b)")
    handles = [Line2D([], [], color="k", ls="--"), Line2D([], [], color="tab:red"),
               Line2D([], [], color="gray", ls=":", lw=0.8), Line2D([], [], color="tab:green", ls=":"),
               Line2D([], [], color="tab:green", ls="-.")]
    labels = ["E, Delta = 0", "E, Delta = Delta*", "bound N w_b", "D, Delta = 0", "D, Delta = Delta*"]
    fig.legend(handles, labels, loc="outside upper center", ncol=5, fontsize=8)
    rep.figure(fig, f"fig1_dynamics_{functional}",
               f"Fig. 1 ({functional} ergotropy functional): E(t) of the battery started in |J, J>|0> at "
               f"Delta = 0 (black dashed) and Delta* = g sqrt(N/(2 gamma0)) (red), and the trace distance D(t) "
               f"of the pair |J, J>|0>, |J, -J>|0> (green, right axis); g = {cfg['g']}, gamma0 = {cfg['gamma0']}, "
               f"n_cavity = {cfg['n_cavity']}, N = {', '.join(map(str, Ns))}; grey dotted: the bound N w_b")


def fig_maps(rep, R, functional: str) -> None:
    """Fig. 2: final ergotropy over (Delta, gamma0) for N >= 2, both environments, one functional."""
    plt = pyplot()
    cfg, key = R["cfg"], FUNCTIONAL_KEY[functional]
    map_d, map_g = cfg["map_d"], cfg["map_g"]
    MD, MG = np.meshgrid(map_d, map_g)
    fine_g = np.linspace(map_g[0], map_g[-1], 200)
    map_Ns = [N for N in cfg["Ns"] if N >= 2]
    fig, axes = plt.subplots(len(map_Ns), 2, figsize=(10, 3.6 * len(map_Ns)), squeeze=False, layout="constrained")
    for r, N in enumerate(map_Ns):
        for c, env in enumerate("AB"):
            ax = axes[r, c]
            E = roundoff_to_zero(R["res"][N][f"map{env}"][key][..., -1])
            lo, hi = float(E.min()), float(E.max())
            cp = ax.contourf(MD, MG, E, levels=np.linspace(lo, hi if hi > lo else lo + 1.0, 31), cmap="magma")
            cb = fig.colorbar(cp, ax=ax)
            cb.set_label(f"E(t = 20), {functional} (units of w_b)")
            cb.locator = MaxNLocator(5)
            cb.update_ticks()
            ax.plot(cfg["g"] * np.sqrt(N / (2 * fine_g)), fine_g, "w--", lw=2)
            ax.plot(map_d[np.argmax(E, axis=1)], map_g, "c.", ms=9, clip_on=False)
            ax.set_xlim(map_d[0], map_d[-1])
            ax.set_title(f"N = {N}, environment {env}", fontsize=10)
            ax.set_xlabel(DELTA_LABEL)
            ax.set_ylabel("gamma0 (units of w_b)")
            ax.xaxis.set_major_locator(MaxNLocator(6))
    handles = [Line2D([], [], color="w", ls="--", lw=2), Line2D([], [], color="c", marker=".", ms=9, ls="none")]
    leg = fig.legend(handles, ["Delta*(gamma0) = g sqrt(N/(2 gamma0)), Eq. (7)", "argmax over Delta per gamma0 row"],
                     loc="outside lower center", ncol=2, fontsize=8, facecolor="0.3")
    for t in leg.get_texts():
        t.set_color("w")
    n = len(map_d)
    rep.figure(fig, f"fig2_maps_{functional}",
               f"Fig. 2 ({functional} functional): final ergotropy E(t = 20) over Delta in [{map_d[0]:g}, "
               f"{map_d[-1]:g}] and gamma0 in [{map_g[0]:g}, {map_g[-1]:g}] ({n} x {n} grid, 30 colour levels), "
               f"g = {cfg['g']}; white dashed: Delta*(gamma0) = g sqrt(N/(2 gamma0)); cyan: the grid's argmax "
               "over Delta in each gamma0 row")


def fig_optimal_detuning(rep, R) -> None:
    """Fig. 3a: the optimal detuning vs N by the paper's scan, the wide scan and gradient ascent."""
    plt = pyplot()
    cfg, opt = R["cfg"], R["opt"]
    NN, GN = np.array(cfg["Ns"], float), np.array(cfg["grad_Ns"], float)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True, layout="constrained")
    for ax, conv in zip(axes, ("published", "physical")):
        ax.loglog(NN, cfg["g"] * np.sqrt(NN / (2 * cfg["gamma0"])), "k--")
        for env, col in ENV_COLOUR.items():
            o = opt[(env, conv)]
            ax.loglog(NN, o["paper_scan"], "o-", color=col)
            ax.loglog(NN, np.maximum(o["ext_scan"], LOG_FLOOR), "s:", color=col)
            ax.loglog(GN, np.maximum(o["grad"], LOG_FLOOR), "^", color=col, ms=10, mfc="none")
        ax.axhline(cfg["paper_scan"][1], color="gray", lw=0.8)
        ax.set_title(f"{conv} functional", fontsize=10)
        ax.set_xlabel(N_LABEL)
        _integer_axis(ax, cfg["Ns"], log=True)
    axes[0].set_ylabel("optimal Delta (units of w_b)")
    _log_ticks(axes[0])
    handles = [Line2D([], [], color="k", ls="--"), Line2D([], [], color="gray", lw=0.8)]
    labels = ["Eq. (7): g sqrt(N/(2 gamma0))", f"upper end {cfg['paper_scan'][1]:g} of the paper's scan"]
    for env, col in ENV_COLOUR.items():
        handles += [Line2D([], [], color=col, marker="o"), Line2D([], [], color=col, marker="s", ls=":"),
                    Line2D([], [], color=col, marker="^", ls="none", mfc="none")]
        labels += [f"env {env}: paper's scan", f"env {env}: wide scan", f"env {env}: gradient ascent"]
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    a, b = cfg["paper_scan"]
    rep.figure(fig, "fig3a_optimal_detuning",
               f"Fig. 3a: detuning that maximises E(t = 20) vs N (log-log), g = {cfg['g']}, gamma0 = "
               f"{cfg['gamma0']}: argmax over the paper's scan [{a:g}, {b:g}] ({cfg['n_beta']} points, circles), "
               f"over the wide scan [{cfg['ext_scan'][0]:g}, {cfg['ext_scan'][-1]:g}] ({cfg['n_ext']} points, "
               f"squares) and gradient ascent from the paper-scan optimum (triangles, N = "
               f"{', '.join(map(str, cfg['grad_Ns']))}); optima at Delta = 0 are drawn at {LOG_FLOOR:g}")


def fig_wide_scan(rep, R) -> None:
    """E(t = 20) vs Delta on the wide scan per N, with Delta* marked and the value at the largest detuning."""
    plt = pyplot()
    cfg = R["cfg"]
    d, far = cfg["ext_scan"], cfg["far"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True, layout="constrained")
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(cfg["Ns"])))
    for ax, env in zip(axes, "AB"):
        for col, N in zip(colours, cfg["Ns"]):
            E = roundoff_to_zero(R["res"][N][f"ext{env}"]["ergotropy"][:, -1])
            ax.plot(d, E, "-", color=col, label=f"N = {N}")
            ax.plot([cfg["dstar"][N]], [R["res"][N][f"table{env}"]["ergotropy"][1, -1]], "o", color=col, mfc="none", ms=8)
            ax.axhline(R["res"][N][f"far{env}"]["ergotropy"][-1, -1], color=col, ls=":", lw=1)
        ax.set_title(f"environment {env}", fontsize=10)
        ax.set_xlabel(DELTA_LABEL)
        ax.yaxis.set_major_locator(MaxNLocator(6))
    axes[0].set_ylabel("E(t = 20), physical (units of w_b)")
    axes[0].legend(fontsize=8, loc="upper left")
    rep.figure(fig, "fig3a_wide_scan",
               f"Physical final ergotropy E(t = 20) vs Delta on [{d[0]:g}, {d[-1]:g}] ({len(d)} points) for N = "
               f"{', '.join(map(str, cfg['Ns']))}, g = {cfg['g']}, gamma0 = {cfg['gamma0']}; open circles: "
               f"E(t = 20) solved at Delta* = g sqrt(N/(2 gamma0)); dotted lines: E(t = 20) at Delta = {far[-1]:g}")


def fig_paradox(rep, R) -> None:
    """Fig. 3b: final ergotropy (both functionals) and BLP (both estimators) vs Delta, N = 2, env A."""
    plt = pyplot()
    cfg, pr = R["cfg"], R["res"][2]["paradox"]
    d, ds = cfg["par_scan"], cfg["dstar"][2]
    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True, layout="constrained")
    axes[0].plot(d, pr["ergotropy_published"][:, -1], "ro-")
    axes[0].set_ylabel("E published (units of w_b)")
    axes[1].plot(d, roundoff_to_zero(pr["ergotropy"][:, -1]), "m^-")
    axes[1].set_ylabel("E physical (units of w_b)")
    axes[2].plot(d, pr["blp_published"], "bs--", label="paper's estimator (Simpson of max(0, dD/dt))")
    axes[2].plot(d, pr["blp_variation"], "cx:", label="total positive variation of D")
    axes[2].set_ylabel("BLP (dimensionless)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.axvline(ds, color="k", ls=":")
        ax.yaxis.set_major_locator(MaxNLocator(5))
    axes[-1].set_xlabel(DELTA_LABEL)
    rep.figure(fig, "fig3b_paradox",
               f"Fig. 3b: final ergotropy E(t = 20) (top: published functional, middle: physical) and the BLP "
               f"measure of the pair |J, J>|0>, |J, -J>|0> on t in [0, 20] (bottom) vs Delta ({len(d)} points on "
               f"[{d[0]:g}, {d[-1]:g}]), N = 2, environment A, gamma0 = {cfg['gamma0']}; dotted: Delta* = {ds:.4f}")


def _single_panel():
    """One (7, 4.5) inch panel with a constrained layout."""
    return pyplot().subplots(figsize=(7, 4.5), layout="constrained")


def fig_advantage(rep, R) -> None:
    """Fig. 3c: collective advantage A(N) = E_N / (N E_1) at Delta*, both functionals and environments."""
    cfg, allN = R["cfg"], R["allN"]
    fig, ax = _single_panel()
    for (env, conv), v in R["adv"].items():
        ax.plot(allN, v, "o-" if conv == "published" else "s--", color=ENV_COLOUR[env], label=f"env {env}, {conv}")
    ax.axhline(1.0, color="k", ls=":", lw=1, label="A(N) = 1")
    ax.set_xlabel(N_LABEL)
    ax.set_ylabel("A(N) = E_N / (N E_1) (dimensionless)")
    _integer_axis(ax, allN)
    ax.legend(fontsize=8)
    rep.figure(fig, "fig3c_advantage",
               f"Fig. 3c: collective advantage A(N) = E_N / (N E_1) of the final ergotropy E(t = 20) at Delta* = "
               f"g sqrt(N/(2 gamma0)), g = {cfg['g']}, gamma0 = {cfg['gamma0']}, n_cavity = {cfg['n_cavity']}, "
               f"both functionals and environments, N = {', '.join(map(str, allN))}")


def fig_rwa(rep, R) -> None:
    """Fig. 4: the RWA ratio g sqrt(N) / w_b against its 10% line."""
    cfg, rw = R["cfg"], R["rwa"]
    N, ratio, thr = rw["N"], rw["ratio"], rw["threshold"]
    fig, ax = _single_panel()
    ax.plot(N, ratio, "k-", lw=2, label="g sqrt(N) / w_b")
    ax.axhline(thr, color="r", ls="--", label=f"Fig. 4's breakdown line {thr:g}")
    ax.fill_between(N, thr, ratio, where=ratio >= thr, color="red", alpha=0.2, label="above the line")
    ax.axvspan(min(cfg["Ns"]), max(cfg["Ns"]), color="tab:blue", alpha=0.15, label="N of this report's Table I")
    ax.set_xlabel(N_LABEL)
    ax.set_ylabel("g sqrt(N) / w_b (dimensionless)")
    ax.legend(fontsize=8, loc="upper left")
    rep.figure(fig, "fig4_rwa", f"Fig. 4: g_eff / w_b = g sqrt(N) / w_b for N = {N[0]}..{N[-1]}, g = {cfg['g']}, "
               f"w_b = 1, against the paper's {thr:g} line")
    Ns = cfg["Ns"]
    above = [n for n, x in zip(N, ratio) if n in Ns and x >= thr - 1e-12]
    rep.text(f"With g = {cfg['g']} the ratio is {ratio[0]:.3f} at N = 1 and {cfg['g'] * np.sqrt(max(Ns)):.3f} at "
             f"N = {max(Ns)}: {count(len(above), len(Ns))} values of N of Table I here are at or above the paper's own "
             f"{thr:g} breakdown line (criterion g sqrt(N) >= {thr:g}), so the paper's statement that the RWA is "
             f"'excellent ... for single qubits' {'does not follow from its own line' if above else 'is consistent with it'}.")


# ---- Fig. 2: the argmax over Delta per gamma0 row ------------------------------------------------
def _map_stats(cfg, R, N, env, key) -> dict:
    d, g = cfg["map_d"], cfg["map_g"]
    E = roundoff_to_zero(R["res"][N][f"map{env}"][key][..., -1])
    best, ds = d[np.argmax(E, axis=1)], cfg["g"] * np.sqrt(N / (2 * g))
    inside = ds <= d[-1]
    return {"best": best, "edge": int(np.sum(best >= d[-1] - 1e-12)), "inside": int(inside.sum()),
            "near": int(np.sum(inside & (np.abs(best - ds) <= d[1] - d[0] + 1e-12))), "max": float(E.max()),
            "half": float(np.mean(E >= E.max() / 2)), "trend": trend(best)}


def _all_map_stats(R) -> list:
    cfg = R["cfg"]
    return [(conv, N, env, _map_stats(cfg, R, N, env, key)) for conv, key in FUNCTIONAL_KEY.items()
            for N in cfg["Ns"] if N >= 2 for env in "AB"]


def table_maps(rep, R) -> None:
    d, n = R["cfg"]["map_d"], R["cfg"]["n_map"]
    rows = [[conv, str(N), env, fmt(s["max"], 5), f"{s['edge']} / {n}", f"{s['near']} / {s['inside']}", s["trend"],
             f"{s['half']:.2f}", " ".join(f"{b:.2f}" for b in s["best"])] for conv, N, env, s in _all_map_stats(R)]
    rep.table(["functional", "N", "env", "max E (units of w_b)", f"gamma0 rows with argmax on the edge Delta = {d[-1]:g}",
               "rows with argmax within one grid step of Delta* (of the rows with Delta* in the window)",
               "argmax Delta from the smallest to the largest gamma0", "fraction of the map with E >= max E / 2",
               "argmax Delta per gamma0 row (gamma0 increasing)"], rows)


def text_maps(rep, R) -> None:
    cfg, st = R["cfg"], _all_map_stats(R)
    d, g = cfg["map_d"], cfg["map_g"]
    N2 = st[0][1]
    ds = cfg["g"] * np.sqrt(N2 / (2 * g))
    tr = [s["trend"] for *_, s in st]
    edge, inside, near = (sum(s[k] for *_, s in st) for k in ("edge", "inside", "near"))
    adjacent = "holds" if inside and near >= 0.5 * inside else "does not hold"
    text = (f"Under Eq. (7), Delta*(gamma0) = g sqrt(N/(2 gamma0)) {trend(ds)} with gamma0 (N = {N2}: {ds[0]:.3f} at "
            f"gamma0 = {g[0]:g}, {ds[-1]:.3f} at {g[-1]:g}; dashed curve), while the paper's text says that a larger "
            "gamma0 'necessitates increasing the detuning'. On the grid the argmax over Delta (cyan dots, table; "
            f"largest against smallest gamma0 row) rises with gamma0 in {tr.count('rises')} of the {len(st)} maps, "
            f"falls in {tr.count('falls')} and stays flat in {tr.count('stays flat')}. It lies on the window's upper "
            f"edge Delta = {d[-1]:g}, where E may still be rising, in {edge} of {len(g) * len(st)} gamma0 rows, and "
            f"within one grid step ({d[1] - d[0]:.3f}) of Delta*(gamma0) in {near} of the {inside} rows whose Delta* "
            f"lies inside the window: the paper's 'the best values are found adjacent to the dashed white line' "
            f"{adjacent} on this grid (criterion: at least half of those rows within one grid step).")
    pairs = [[s["half"] for c, N, e, s in st if (c, e) == (conv, env)] for conv in FUNCTIONAL_KEY for env in "AB"]
    if len(pairs[0]) >= 2:
        k = sum(bool(np.all(np.diff(f) < 0)) for f in pairs)
        text += (" The fraction of the map with E >= max E / 2 decreases strictly with N in "
                 f"{count(k, len(pairs))} (functional, environment) pairs (the paper: the survival region "
                 "'gradually narrows with increasing N').")
    else:
        text += " (One N with a map in this mode: the paper's narrowing of the survival region with N is not tested.)"
    rep.text(text)


# ---- Fig. 3a: optimal detuning -----------------------------------------------------------------
def table_optima(rep, R) -> None:
    cfg, Ns = R["cfg"], R["cfg"]["Ns"]
    rows = []
    for (env, conv), o in R["opt"].items():
        (b_p, e_p), (b_e, _), (b_g, _) = o["beta_paper_scan"], o["beta_ext"], o["beta_grad"]
        rows.append([env, conv, _nums(o["paper_scan"]), f"{f3(b_p)} +- {f3(e_p)}", f"{o['clipped']} / {len(Ns)}",
                     _nums(o["ext_scan"]), f3(b_e), _nums(o["grad"]), f3(b_g),
                     f"{TC_BETA[env]:.3f}" if conv == "published" else "-"])
    lo, hi = cfg["paper_scan"]
    rep.table(["env", "functional", f"Delta_opt, paper's scan [{lo:g}, {hi:g}] (N = {Ns[0]}..{Ns[-1]})",
               "beta (paper's scan) +- std", "optima on the scan's upper edge",
               f"Delta_opt, wide scan [{cfg['ext_scan'][0]:g}, {cfg['ext_scan'][-1]:g}] ({cfg['n_ext']} points)",
               "beta (wide scan)", f"Delta_opt by gradient ascent (N = {cfg['grad_Ns']})", "beta (gradient)",
               "paper's beta"], rows)


def beta_verdict(b, err, ref) -> str:
    if not (np.isfinite(b) and np.isfinite(err) and np.isfinite(ref)):
        return "cannot be compared (a fit or its std is undefined: two N, or an optimum at Delta = 0)"
    return f"{'differs by more than' if abs(b - ref) > 2 * err else 'agrees within'} 2 std ({abs(b - ref):.3f} apart)"


def text_beta(rep, R) -> None:
    cfg, opt, Ns = R["cfg"], R["opt"], R["cfg"]["Ns"]
    lo, hi = cfg["paper_scan"]
    clipped = sum(o["clipped"] for o in opt.values())
    wide = sum(int(np.sum(o["ext_scan"] >= cfg["ext_scan"][-1] - 1e-12)) for o in opt.values())
    window = [f"env {env}, {conv}: {f3(o['beta_paper_scan'][0])} against {f3(o['beta_ext'][0])}, "
              + beta_verdict(*o["beta_paper_scan"], o["beta_ext"][0]) for (env, conv), o in opt.items()]
    paper = [f"env {env}: {f3(opt[(env, 'published')]['beta_paper_scan'][0])} against the paper's {TC_BETA[env]}, "
             + beta_verdict(*opt[(env, "published")]["beta_paper_scan"], TC_BETA[env]) for env in "AB"]
    rep.text(f"**Clipped optima.** The argmax of E(t = 20) over the paper's scan [{lo:g}, {hi:g}] ({cfg['n_beta']} "
             f"points) is the scan's upper end (within 1e-12) in {clipped} of the {4 * len(Ns)} (N, environment, "
             "functional) cases (column 'optima on the scan's upper edge'). An argmax on the edge bounds the optimum "
             f"from below only, and a beta fitted to such points measures the scan range; the wide scan's argmax is its "
             f"own upper end {cfg['ext_scan'][-1]:g} in {wide} of the {4 * len(Ns)}. Exponent on the paper's scan "
             "against the wide scan (criterion: 2 std of the paper-scan fit): " + "; ".join(window) + ". Paper-scan "
             "exponent of the published functional against the paper's: " + "; ".join(paper) + ".")


def table_gradient(rep, R) -> None:
    cfg, Ns = R["cfg"], R["cfg"]["Ns"]
    lo, hi = cfg["paper_scan"]
    rows, stat, inside, up = [], 0, 0, 0
    for N in cfg["grad_Ns"]:
        dets, vals, grads, hist = R["grad"][N]
        for i, k in enumerate(dets):
            e0, ok = float(hist[0][i]), abs(grads[k]) <= STATIONARY * abs(vals[k])
            rows.append([str(N), k[0], k[1], f"{R['opt'][k]['paper_scan'][Ns.index(N)]:.4f}", f"{dets[k]:.4f}",
                         f"{e0:.5f}", f"{vals[k]:.5f}", fmt(grads[k], 3), "yes" if ok else "no"])
            stat, inside, up = stat + ok, inside + (lo <= dets[k] <= hi), up + (vals[k] > e0)
    rep.text(f"Gradient ascent: Adam (Optax, learning rate {cfg['lr']:g} with cosine decay to "
             f"{cfg['lr'] * cfg['alpha']:g}, {cfg['grad_steps']} steps) on Delta, maximising E(t = 20) with the gradient "
             "taken through the diffrax solve (reverse mode), started at the argmax of the paper's scan.")
    rep.table(["N", "env", "functional", "Delta start", "Delta end", "E start (units of w_b)", "E end (units of w_b)",
               "dE/dDelta at the end", f"stationary (|dE/dDelta| <= {STATIONARY:g} E)"], rows)
    n = len(rows)
    rep.text(f"Of the {n} ascents, {up} end with a higher E than at their start, {stat} end at a stationary point "
             f"(criterion |dE/dDelta| <= {STATIONARY:g} E: a detuning change of 0.01 w_b then moves E by at most "
             f"{STATIONARY * 0.01:.0e} of itself) and {inside} end inside the paper's scan [{lo:g}, {hi:g}].")


def table_far(rep, R) -> None:
    """E_phys(t = 20) at Delta*, its wide-scan maximum and at the large detunings, with the verdict."""
    cfg = R["cfg"]
    f5, f10 = cfg["far"]
    rows, beyond, rising, frac, loc = [], 0, 0, [], []
    for env in "AB":
        for N in cfg["Ns"]:
            r = R["res"][N]
            ext, ef = r[f"ext{env}"]["ergotropy"][:, -1], r[f"far{env}"]["ergotropy"][:, -1]
            rows.append([str(N), env, f"{r[f'table{env}']['ergotropy'][1, -1]:.4f}", f"{ext.max():.4f}",
                         f"{ef[0]:.4f}", f"{ef[1]:.4f}", str(N)])
            beyond, rising = beyond + (ef[1] > ext.max()), rising + (ef[1] > ef[0])
            frac.append(ef[1] / N)
            loc.append(int(np.sum((ext[1:-1] > ext[:-2]) & (ext[1:-1] > ext[2:]))))
    d = cfg["ext_scan"]
    rep.table(["N", "env", "E phys at Delta*", f"max E phys on [{d[0]:g}, {d[-1]:g}]", f"E phys at Delta = {f5:g}",
               f"E phys at Delta = {f10:g}", "bound N w_b"], rows)
    n = len(rows)
    verdict = ("so, within the detunings computed, the final ergotropy keeps rising as the cavity is detuned away and "
               "no finite detuning is optimal" if beyond == rising == n else "so these points do not exclude a finite optimum")
    rep.text(f"**Large detuning.** E_phys(t = 20) at Delta = {f10:g} exceeds its maximum over the wide scan in "
             f"{count(beyond, n)} (N, environment) cases and its value at Delta = {f5:g} in {count(rising, n)}; at "
             f"Delta = {f10:g} the battery keeps {min(frac):.1%} to {max(frac):.1%} of its bound N w_b, {verdict}. "
             f"On the wide scan ({len(d)} points) E_phys(Delta) has an interior local maximum in "
             f"{count(sum(k > 0 for k in loc), n)} curves ({sum(loc)} maxima in all), so it is "
             f"{'not monotonic' if sum(loc) else 'monotonic or resolved too coarsely'} there: a maximum of a scan "
             "inside [0, 1.2] is a local one whenever the large-detuning value is higher.")


# ---- Fig. 3b: the BLP 'paradox' scan -------------------------------------------------------------
def _corr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else float("nan")


def table_paradox(rep, R) -> None:
    d, pr = R["cfg"]["par_scan"], R["res"][2]["paradox"]
    rows = [["E published (units of w_b)"] + [f"{x:.4f}" for x in pr["ergotropy_published"][:, -1]],
            ["E physical (units of w_b)"] + [f"{x:.4f}" for x in roundoff_to_zero(pr["ergotropy"][:, -1])],
            ["BLP, paper's estimator"] + [f"{x:.4f}" for x in pr["blp_published"]],
            ["BLP, total positive variation"] + [f"{x:.4f}" for x in pr["blp_variation"]]]
    rep.table(["Delta (units of w_b)"] + [f"{x:.3f}" for x in d], rows)


def text_paradox(rep, R) -> None:
    cfg, pr = R["cfg"], R["res"][2]["paradox"]
    d, ds = cfg["par_scan"], cfg["dstar"][2]
    e_pub, e_phys = pr["ergotropy_published"][:, -1], roundoff_to_zero(pr["ergotropy"][:, -1])
    blp = pr["blp_published"]
    near, ib, ip = int(np.argmin(np.abs(d - ds))), int(np.argmax(e_pub)), int(np.argmax(e_phys))
    r = {"published": _corr(e_pub, blp), "physical": _corr(e_phys, blp)}
    inv = {k: "undefined (a constant curve)" if not np.isfinite(v) else f"{v:.2f}, "
           + ("inverse" if v <= CORR_INVERSE else "not inverse") for k, v in r.items()}
    rep.text(f"The published ergotropy is largest at Delta = {d[ib]:.3f} and the physical one at Delta = {d[ip]:.3f}; "
             f"the scanned point nearest Delta* = {ds:.4f} is Delta = {d[near]:.3f}, which {'is' if ib == near else 'is NOT'}"
             f" the published maximum and {'is' if ip == near else 'is NOT'} the physical one. BLP "
             f"{'decreases monotonically' if np.all(np.diff(blp) <= 1e-9) else 'is not monotonic'} over the scan "
             f"(criterion: no step rises by more than 1e-9), from {blp[0]:.4f} to {blp[-1]:.4f}; at the point nearest "
             f"Delta* it is {blp[near] / blp[0]:.1%} of its Delta = 0 value. Pearson correlation of BLP with the final "
             f"ergotropy over the scan: published {inv['published']}; physical {inv['physical']} (criterion for the "
             f"paper's 'inverse relationship': r <= {CORR_INVERSE:g}). The paper's 'intersection point' of the two "
             "curves is a crossing of lines drawn against two different axes and carries no physical meaning.")
    paper = TC_TABLE_I[(2, "A")]
    rep.check("Fig. 3b: E_res at Delta = 0 (published)", paper[0], float(e_pub[0]), tol=TABLE_TOL)
    rep.check("Fig. 3b: BLP at Delta = 0", paper[2], float(blp[0]), tol=TABLE_TOL)


# ---- Fig. 3c: collective advantage ---------------------------------------------------------------
def table_advantage(rep, R) -> None:
    cfg, adv, allres = R["cfg"], R["adv"], {**R["res"], **R["big"]}
    rows = []
    for i, N in enumerate(R["allN"]):
        tb = {env: allres[N][f"table{env}"]["ergotropy"][:, -1] for env in "AB"}
        scan = cfg["big_scan"] if N in R["big"] else cfg["ext_scan"]
        rows.append([str(N), f"{cfg['dstar'][N]:.4f}", f"{cfg['g'] * np.sqrt(N):.3f}", f"{tb['A'][1]:.4f}",
                     f"{tb['B'][1]:.4f}", f"{tb['A'][0]:.4f}", f"{tb['B'][0]:.4f}"]
                    + [f"{scan[np.argmax(allres[N][f'ext{env}']['ergotropy'][:, -1])]:.3f}" for env in "AB"]
                    + [f"{adv[(env, 'published')][i]:.3f} / {adv[(env, 'physical')][i]:.3f}" for env in "AB"])
    rep.table(["N", "Delta*", "g sqrt(N)", "E phys(Delta*) A", "E phys(Delta*) B", "E phys(0) A", "E phys(0) B",
               "argmax_Delta E phys, A", "argmax_Delta E phys, B", "A(N) env A (published / physical)",
               "A(N) env B (published / physical)"], rows)


def text_advantage(rep, R) -> None:
    cfg, adv, allN = R["cfg"], R["adv"], R["allN"]
    i2, big3 = allN.index(2), [i for i, N in enumerate(cfg["Ns"]) if N >= 3]
    text = (f"The paper reports A(2) of about {PAPER_A2['A']} (env A) and {PAPER_A2['B']} (env B) and A(N) > 1 at "
            "N = 3 and 4 in both environments. qbjax, A(2) published / physical: "
            + "; ".join(f"env {e}: {adv[(e, 'published')][i2]:.3f} / {adv[(e, 'physical')][i2]:.3f}" for e in "AB") + ".")
    if big3:
        ok = {k: all(v[i] > 1 for i in big3) for k, v in adv.items()}
        text += (f" A(N) > 1 for every N >= 3 of Table I holds in {count(sum(ok.values()), len(ok))} (environment, "
                 "functional) pairs: " + ", ".join(f"env {e} {c}: {'yes' if v else 'no'}" for (e, c), v in ok.items()) + ".")
    else:
        text += " (No N >= 3 in this mode: the paper's A(N) > 1 is not tested.)"
    rep.text(text)
    for env in "AB":
        rep.check(f"A(2), env {env} (published; paper ~{PAPER_A2[env]})", PAPER_A2[env], float(adv[(env, "published")][i2]),
                  tol=0.01)
