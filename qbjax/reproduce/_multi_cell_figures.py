"""Figures and the claims table of the multi-cell reproduction (paper 001), with the sentences about them.

Each function takes the report, the results of :func:`qbjax.reproduce.multi_cell._compute` and (for
figures) pyplot; every number and verdict in the prose is computed from those results, with its
threshold stated.  Ergotropies with |W| <= :data:`ZERO` are drawn as exactly 0.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from .._figures import roundoff_to_zero
from .report import fmt

W = 1.0  # omega_L = omega_M = omega_R = w = 1 (the paper's unit)
LAM_PAPER_2 = 0.1  # lam_LR the paper leaves unstated in Figs. 2-3; 0.1 is its three-cell value
LAM_ACTIVE_2 = 1.2  # a lam_LR where the two-cell ergotropy is positive (see the scan)
LAM_3 = 0.1
ZERO = 1e-10  # |W| at or below this counts as zero
MONO = 1e-12  # a step down by more than this breaks "non-decreasing"
DROP_WINDOW = 0.1  # Fig. 6's "sudden drop": below half the maximum within this much lam past the crossing
T_CURVES = [0.0, 0.25, 0.5, 0.75, 1.0]
TMS4 = [0.0, 0.25, 0.5, 0.75, 1.0]
TMS5 = [0.5, 0.75, 1.0]
W_LABEL = "ergotropy W (units of w)"
EXTENT = [0, 2, 0, 2]


def _zeroed(values):
    return roundoff_to_zero(values, scale=1.0, rtol=ZERO)


def _n_nan(*arrays) -> int:
    return int(sum(np.isnan(a).sum() for a in arrays))


def _ticks(*axes) -> None:
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(5))


def fig2_two_cell_curves(rep, res, plt) -> None:
    two = res["two_cell"]
    Ts = two["Ts"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), sharey=True, layout="constrained")
    notes = []
    for row, lam in enumerate((LAM_PAPER_2, LAM_ACTIVE_2)):
        a, b = (_zeroed(x) for x in two["curves"][lam])
        for k, T in enumerate(T_CURVES):
            axes[row, 0].plot(Ts, a[k], label=f"T_R = {T}")
            axes[row, 1].plot(Ts, b[k], label=f"T_L = {T}")
        axes[row, 0].set(xlabel="T_L (units of w)", ylabel=W_LABEL)
        axes[row, 1].set_xlabel("T_R (units of w)")
        peak = float(np.nanmax(np.abs(np.stack(two["curves"][lam]))))
        notes.append(f"lam_LR = {lam:g}: max |W| = {fmt(peak)}")
        for ax in axes[row]:
            ax.set_title(f"two cells, lam_LR = {lam:g}")
            ax.legend(fontsize=7, loc="upper center")
            if peak <= ZERO:
                ax.text(0.5, 0.6, f"|W| <= {ZERO:g} everywhere (drawn as 0)", transform=ax.transAxes, ha="center")
    _ticks(*axes.ravel())
    rep.section("Two cells: Fig. 2 (ergotropy vs T_L and vs T_R)")
    rep.figure(fig, "fig2_two_cell_curves",
               f"Fig. 2: two-cell steady-state ergotropy vs T_L at fixed T_R (left) and vs T_R at fixed T_L (right), "
               f"w = {W:g}, {len(Ts)} temperatures in [0, 2]; top lam_LR = {LAM_PAPER_2:g}, bottom lam_LR = "
               f"{LAM_ACTIVE_2:g}; |W| <= {ZERO:g} drawn as 0, NaN points (level crossings): "
               f"{_n_nan(*two['curves'][LAM_PAPER_2], *two['curves'][LAM_ACTIVE_2])}")
    rep.text("Largest |W| on the curves: " + "; ".join(notes) + ".")


def _map_panel(fig, ax, data, title, vmax) -> None:
    """One (T_L, T_R) ergotropy map (data[i, j] at T_L = i-th, T_R = j-th grid point) with its colorbar."""
    im = ax.imshow(_zeroed(data).T, origin="lower", extent=EXTENT, aspect="auto", cmap="viridis", vmin=0,
                   vmax=vmax)
    ax.set(xlabel="T_L (units of w)", ylabel="T_R (units of w)", title=title)
    _ticks(ax)
    cb = fig.colorbar(im, ax=ax, label=W_LABEL)
    cb.locator = MaxNLocator(5)
    cb.update_ticks()


def fig3_two_cell_maps(rep, res, plt) -> None:
    maps = res["two_cell"]["maps"]
    vmax = max(float(np.nanmax(_zeroed(m))) for m in maps.values()) or 1.0
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2), layout="constrained")
    for ax, lam in zip(axes, (LAM_PAPER_2, LAM_ACTIVE_2)):
        _map_panel(fig, ax, maps[lam], f"two cells, lam_LR = {lam:g}", vmax)
    n = len(res["two_cell"]["Tm"])
    rep.section("Two cells: Fig. 3 ((T_L, T_R) map)")
    rep.figure(fig, "fig3_two_cell_maps",
               f"Fig. 3: two-cell ergotropy on a {n} x {n} grid of (T_L, T_R) in [0, 2]^2, w = {W:g}, lam_LR = "
               f"{LAM_PAPER_2:g} (left) and {LAM_ACTIVE_2:g} (right), one colour scale 0 to {fmt(vmax, 3)}; |W| <= "
               f"{ZERO:g} drawn as 0; NaN points (white, level crossings or T = 0 with a degenerate ground state): "
               f"{_n_nan(*maps.values())}")
    rep.text("Largest W on the maps: " + "; ".join(f"lam_LR = {lam:g}: {fmt(np.nanmax(m))}" for lam, m in maps.items())
             + ".")


def fig_scan_lam_lr(rep, res, plt) -> None:
    two = res["two_cell"]
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    ax.plot(two["lams"], _zeroed(two["wmax"]), ".-")
    ax.axvline(W, color="grey", ls=":", label="lam_LR = w (crossing, NaN)")
    ax.set(xlabel="lam_LR (units of w)", ylabel="max of W over (T_L, T_R) (units of w)")
    _ticks(ax)
    ax.legend(fontsize=8)
    n = len(two["Tg"])
    rep.figure(fig, "scan_two_cell_lamLR",
               f"Maximum two-cell ergotropy over a {n} x {n} grid of (T_L, T_R) in [0, 2]^2 vs lam_LR "
               f"({len(two['lams'])} values in [0, 2]), w = {W:g}; |W| <= {ZERO:g} drawn as 0")


def fig4_three_cell_curves(rep, res, plt) -> None:
    three, Ts = res["three_cell"], res["two_cell"]["Ts"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
    for k, TM in enumerate(TMS4):
        axes[0].plot(Ts, _zeroed(three["f4a"][k]), label=f"T_M = {TM}")
        axes[1].plot(Ts, _zeroed(three["f4b"][k]), label=f"T_M = {TM}")
    axes[0].set(xlabel="T_L (units of w), T_R = 0", ylabel=W_LABEL, title="(a) T_R = 0")
    axes[1].set(xlabel="T_R (units of w), T_L = 0", title="(b) T_L = 0")
    _ticks(*axes)
    for ax in axes:
        ax.legend(fontsize=7)
    rep.section(f"Three cells: Fig. 4 (lam = {LAM_3:g})")
    rep.figure(fig, "fig4_three_cell_curves",
               f"Fig. 4: three-cell ergotropy, lam_LM = lam_MR = lam_LR = {LAM_3:g}, w = {W:g}, for T_M = "
               f"{', '.join(map(str, TMS4))}; (a) vs T_L at T_R = 0, (b) vs T_R at T_L = 0; |W| <= {ZERO:g} drawn as 0")


def fig5_three_cell_maps(rep, res, plt) -> None:
    maps = res["three_cell"]["maps"]
    vmax = max(float(np.nanmax(m)) for m in maps.values())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    for ax, TM in zip(axes, TMS5):
        _map_panel(fig, ax, maps[TM], f"T_M = {TM}", vmax)
    n = len(res["two_cell"]["Tm"])
    rep.section(f"Three cells: Fig. 5 ((T_L, T_R) maps, lam = {LAM_3:g})")
    rep.figure(fig, "fig5_three_cell_maps",
               f"Fig. 5: three-cell ergotropy on a {n} x {n} grid of (T_L, T_R) in [0, 2]^2, lam = {LAM_3:g}, w = "
               f"{W:g}, T_M = {', '.join(map(str, TMS5))}, one colour scale 0 to {fmt(vmax, 3)}; |W| <= {ZERO:g} "
               f"drawn as 0; NaN points: {_n_nan(*maps.values())}")


def fig6_three_cell_lambda(rep, res, plt) -> None:
    three = res["three_cell"]
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for k, TM in enumerate(TMS5):
        ax.plot(three["lam6"], _zeroed(three["f6"][k]), label=f"T_M = {TM}")
    ax.axvline(W / 2, color="grey", ls=":", label="w = 2 lam (crossing, NaN)")
    ax.set(xlabel="lam = lam_LM = lam_MR = lam_LR (units of w)", ylabel=W_LABEL)
    _ticks(ax)
    ax.legend(fontsize=8)
    rep.section("Three cells: Fig. 6 (ergotropy vs lam, T_L = 1, T_R = 0)")
    rep.figure(fig, "fig6_three_cell_lambda",
               f"Fig. 6: three-cell ergotropy vs the common coupling lam ({len(three['lam6'])} values in [0, 2]), "
               f"T_L = 1, T_R = 0, w = {W:g}, T_M = {', '.join(map(str, TMS5))}; |W| <= {ZERO:g} drawn as 0; NaN "
               f"points: {_n_nan(three['f6'])}")


# ---- the paper's claims ------------------------------------------------------------------------------


def _nondecreasing(y) -> bool:
    y = np.asarray(y)[np.isfinite(y)]
    return bool(np.all(np.diff(y) >= -MONO))


def _rises(y) -> bool:
    """Non-decreasing (steps >= -MONO) and up by more than ZERO from its first to its last finite value."""
    y = np.asarray(y)[np.isfinite(y)]
    return _nondecreasing(y) and y.size > 1 and y[-1] - y[0] > ZERO


def _away_from_diagonal(m):
    """(half-lines of the map, at fixed T_L or fixed T_R, going away from T_L = T_R, on which W rises)."""
    lines = []
    for mat in (m, m.T):
        for i in range(mat.shape[0]):
            lines += [mat[i, i:], mat[i, :i + 1][::-1]]
    lines = [h for h in lines if h.size > 1]
    return sum(_rises(h) for h in lines), len(lines)


def _claims_two_cell(m, lam) -> list:
    diag = float(np.nanmax(np.abs(np.diag(m))))
    off = ~np.eye(m.shape[0], dtype=bool) & np.isfinite(m)
    pos = float(np.mean(m[off] > ZERO))
    ok, n = _away_from_diagonal(m)
    tag = f"(lam_LR = {lam:g})"
    rises = (f"along every line of fixed T_L or T_R, W rises (steps >= -{MONO:g}, total > {ZERO:g}) away from "
             "T_L = T_R")
    corners = f"{ok} of {n} half-lines rise; W(T_L=2, T_R=0) = {fmt(m[-1, 0])}, W(T_L=0, T_R=2) = {fmt(m[0, -1])}"
    return [
        (f"Figs. 2-3 {tag}: W = 0 at T_L = T_R", f"max |W| on the diagonal <= {ZERO:g}", diag <= ZERO,
         f"max |W| on the diagonal: {fmt(diag)}"),
        (f"Figs. 2-3 {tag}: W > 0 away from T_L = T_R", f"W > {ZERO:g} at every off-diagonal map point",
         pos == 1.0, f"W > {ZERO:g} on {100 * pos:.0f}% of the off-diagonal points"),
        (f"Figs. 2-3 {tag}: W rises with Delta T = |T_L - T_R|", rises, ok == n, corners),
    ]


def _claims_three_cell(res) -> list:
    three, Ts = res["three_cell"], res["two_cell"]["Ts"]
    f4a, f4b = three["f4a"], three["f4b"]
    rows = []
    for name, f, var in (("4a", f4a, "T_L at T_R = 0"), ("4b", f4b, "T_R at T_L = 0")):
        ok = [TM for TM, y in zip(TMS4, f) if _rises(y)]
        rule = f"every T_M curve rises (steps >= -{MONO:g}, total > {ZERO:g})"
        ev = f"rises for T_M = {ok or 'none'} of {TMS4}; W at T = {Ts[-1]:g}: {', '.join(fmt(v, 3) for v in f[:, -1])}"
        verdict = (len(ok) == len(TMS4)) or (f"holds only for T_M = {', '.join(map(str, ok))}" if ok else False)
        rows.append((f"Fig. {name}: W grows with {var}", rule, verdict, ev))
    both = np.concatenate([f4a, f4b], axis=1)
    mono = [_nondecreasing(both[:, j]) for j in range(both.shape[1])]
    up = float(np.mean(both[-1] - both[0] > ZERO))
    rule = f"at every temperature of both panels W is non-decreasing in T_M (steps >= -{MONO:g}) and rises somewhere"
    ev = (f"non-decreasing at {sum(mono)} of {len(mono)} points; W(T_M=1) - W(T_M=0) > {ZERO:g} at {100 * up:.0f}% "
          "of them")
    rows.append(("Fig. 4: W grows with T_M", rule, all(mono) and up > 0, ev))
    mx = [float(np.nanmax(three["maps"][TM])) for TM in TMS5]
    rows.append(("Fig. 5: the maximum of W over the map grows with T_M",
                 f"each step up in T_M raises max W by more than {ZERO:g}", bool(np.all(np.diff(mx) > ZERO)),
                 f"max W = {', '.join(fmt(v, 4) for v in mx)} for T_M = {TMS5}"))
    return rows


def _fig6_zeros(lam6, f6):
    """Zero windows (W <= ZERO, NaN excluded) past the crossing, and the largest W after the first zero."""
    zero = (np.nan_to_num(f6, nan=1.0) <= ZERO) & (lam6 > W / 2)
    windows = [intervals(lam6, z) for z in zero]
    after = []
    for k, z in enumerate(zero):
        if not z.any():
            after.append((np.nan, np.inf))  # never zero: cannot stay there
            continue
        first = int(np.argmax(z))
        tail = np.where(np.isfinite(f6[k, first:]), f6[k, first:], -np.inf)
        after.append((float(lam6[first + int(np.argmax(tail))]), float(tail.max())))
    return windows, after


def _claims_fig6(res) -> list:
    lam6, f6 = res["three_cell"]["lam6"], res["three_cell"]["f6"]
    k_pk = np.where(np.isfinite(f6), f6, -np.inf).argmax(axis=1)
    peaks, lam_pk = f6[np.arange(len(TMS5)), k_pk], lam6[k_pk]
    finite = np.isfinite(f6).all(axis=0)
    jb = int(np.nonzero(finite & (lam6 < W / 2))[0][-1])  # the last finite grid point below the crossing
    j0 = int(np.nonzero(finite & (lam6 > W / 2))[0][0])  # and the first above it
    j = int(np.argmin(np.abs(lam6 - (W / 2 + DROP_WINDOW))))
    windows, after = _fig6_zeros(lam6, f6)
    zeros = "; ".join(f"T_M={TM}: " + (", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in w) or "nowhere")
                      for TM, w in zip(TMS5, windows))
    isolated = sorted({a for w in windows for a, b in w if a == b and abs(a - W) <= lam6[1] - lam6[0]})
    note = (f" The single-point zero at lam = {isolated[0]:.3g} ~ w is where the Bohr frequencies |w - 2 lam| and w "
            "coincide and the secular grouping changes discontinuously." if isolated else "")
    ev_peak = (f"maxima at lam = {', '.join(f'{v:.3g}' for v in lam_pk)} (W = {', '.join(fmt(v, 3) for v in peaks)}); "
               f"{int(np.sum(lam_pk < W / 2))} of {len(TMS5)} below the crossing w = 2 lam")
    rule_drop = f"within {DROP_WINDOW:g} past the crossing (at lam = {lam6[j]:.3g}) W is below half its maximum"
    ev_drop = (f"W(lam = {lam6[j]:.3g}) = {', '.join(fmt(v, 3) for v in f6[:, j])}; across the crossing W jumps from "
               f"{', '.join(fmt(v, 3) for v in f6[:, jb])} (lam = {lam6[jb]:.3g}) to "
               f"{', '.join(fmt(v, 3) for v in f6[:, j0])} (lam = {lam6[j0]:.3g})")
    ev_stay = ("largest W after the first zero: " + ", ".join(
        f"{fmt(w, 3)} at lam = {lam:.3g}" if np.isfinite(w) else "no zero" for lam, w in after)
               + f"; W(lam = 2) = {', '.join(fmt(v, 3) for v in f6[:, -1])}")
    return [
        ("Fig. 6: an optimal coupling around lam ~ 0.5", "the global maximum of every curve lies within 0.1 of 0.5",
         bool(np.all(np.abs(lam_pk - 0.5) <= 0.1)), ev_peak),
        ("Fig. 6: beyond it a sudden drop", rule_drop, bool(np.all(f6[:, j] < 0.5 * peaks)), ev_drop),
        ("Fig. 6: for larger coupling W decreases and reaches zero",
         f"W <= {ZERO:g} somewhere past the crossing, on every curve", all(windows), f"W <= {ZERO:g} on {zeros}.{note}"),
        ("Fig. 6: ... and stays at zero (up to lam = 2)", f"W <= {ZERO:g} everywhere after the first zero",
         all(w <= ZERO for _, w in after), ev_stay),
    ]


def intervals(x, mask):
    """Contiguous runs of True in mask, as (x_start, x_end) pairs."""
    runs, start = [], None
    for k, on in enumerate(mask):
        if on and start is None:
            start = k
        if (not on or k == len(mask) - 1) and start is not None:
            runs.append((float(x[start]), float(x[k if on else k - 1])))
            start = None
    return runs


def table_claims(rep, res) -> None:
    maps = res["two_cell"]["maps"]
    rows = [r for lam in (LAM_PAPER_2, LAM_ACTIVE_2) for r in _claims_two_cell(maps[lam], lam)]
    rows += _claims_three_cell(res) + _claims_fig6(res)
    rep.section("The paper's claims, one by one")
    rep.text(f"Each claim of the paper is turned into a rule on the computed grids; 'holds' means the rule is "
             f"satisfied at every grid point it names (|W| <= {ZERO:g} counts as zero, a step down by more than "
             f"{MONO:g} breaks monotonicity). The two-cell claims are tested at both values of lam_LR shown above.")
    verdicts = [ok if isinstance(ok, str) else "holds" if ok else "does NOT hold" for _, _, ok, _ in rows]
    rep.table(["claim (paper)", "rule (qbjax)", "verdict", "evidence (qbjax)"],
              [[c, rule, v, ev] for (c, rule, _, ev), v in zip(rows, verdicts)])
    groups = {key: [r[0] for r, v in zip(rows, verdicts) if pick(v)] for key, pick in (
        ("hold", lambda v: v == "holds"), ("partly", lambda v: v.startswith("holds only")),
        ("fail", lambda v: v == "does NOT hold"))}
    rep.text(f"Verdict: on these grids {len(groups['hold'])} of {len(rows)} claims hold"
             + (f" ({'; '.join(groups['hold'])})" if groups["hold"] else "")
             + (f"; {len(groups['partly'])} hold in part ({'; '.join(groups['partly'])})" if groups["partly"] else "")
             + (f"; {len(groups['fail'])} do not ({'; '.join(groups['fail'])})" if groups["fail"] else "") + ".")
