"""Reproduce paper 001 (multi-cell thermal battery): Figs. 2-6, a lam_LR scan, claims, gradients/Optax."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..models.multi_cell import three_cell, two_cell
from .report import Report, fmt, pyplot

CHUNK = 2048  # every batched call is padded to a multiple of this, so each function compiles once
W = 1.0  # omega_L = omega_M = omega_R = w = 1 (the paper's unit)
LAM_PAPER_2 = 0.1  # lam_LR the paper leaves unstated in Figs. 2-3; 0.1 is its three-cell value
LAM_ACTIVE_2 = 1.2  # where the two-cell ergotropy is largest (confirmed by the scan below)
LAM_3 = 0.1


def _erg2_point(TL, TR, lam):
    return two_cell(TL, TR, lam, omega=W).steady_ergotropy(degenerate="nan")


def _erg3_point(TL, TM, TR, lam):
    return three_cell(TL, TM, TR, lam, omega=W).steady_ergotropy(degenerate="nan")


_erg2 = jax.jit(jax.vmap(_erg2_point))
_erg3 = jax.jit(jax.vmap(_erg3_point))
_vg3 = jax.jit(jax.value_and_grad(lambda p: three_cell(p[0], p[1], p[2], p[3], omega=W).steady_ergotropy(), argnums=0))


def _batched(fn, *args):
    """fn over broadcast 1-D arrays, padded to a multiple of CHUNK (pad value: the first element)."""
    arrs = [np.ravel(a).astype(float) for a in np.broadcast_arrays(*args)]
    n = arrs[0].size
    out = []
    for s in range(0, n, CHUNK):
        part = [a[s:s + CHUNK] for a in arrs]
        m = part[0].size
        part = [np.concatenate([p, np.full(CHUNK - m, p[0])]) for p in part]
        out.append(np.asarray(fn(*[jnp.asarray(p) for p in part]))[:m])
    return np.concatenate(out).reshape(np.broadcast_shapes(*[np.shape(a) for a in args]))


def erg2(TL, TR, lam):
    return _batched(_erg2, TL, TR, lam)


def erg3(TL, TM, TR, lam):
    return _batched(_erg3, TL, TM, TR, lam)


def _many(fn, requests):
    """Evaluate several broadcast requests in ONE padded batched call; returns one array per request."""
    shapes = [np.broadcast_shapes(*[np.shape(a) for a in r]) for r in requests]
    flat = [np.concatenate([np.broadcast_to(np.asarray(r[k], dtype=float), sh).ravel()
                            for r, sh in zip(requests, shapes)]) for k in range(len(requests[0]))]
    out = fn(*flat)
    res, pos = [], 0
    for sh in shapes:
        size = int(np.prod(sh))
        res.append(out[pos:pos + size].reshape(sh))
        pos += size
    return res


def _interval(x, mask):
    """Contiguous runs of True in mask, as (x_start, x_end) pairs."""
    runs, start = [], None
    for k, on in enumerate(mask):
        if on and start is None:
            start = k
        if (not on or k == len(mask) - 1) and start is not None:
            end = k if on else k - 1
            runs.append((float(x[start]), float(x[end])))
            start = None
    return runs


def run(out_dir, quick: bool = False, smoke: bool = False) -> Path:
    """``quick``: coarser grids, 60 Adam steps.  ``smoke`` (CI): the coarsest grids that still draw every
    figure and table (rough numbers), 5 Adam steps."""
    plt = pyplot()

    t_start = time.perf_counter()
    timings = {}
    rep = Report("Nonequilibrium multi-cell quantum batteries (paper 001, Hadipour & Haseli)", out_dir, smoke=smoke)
    if smoke:
        quick = True
    n_line = 11 if smoke else 61 if quick else 101
    n_map = 7 if smoke else 31 if quick else 51
    n_lam = 41 if smoke else 201 if quick else 401
    n_scan_lam, n_scan_T = (21, 5) if smoke else (41, 21) if quick else (101, 31)
    T_curves = [0.0, 0.25, 0.5, 0.75, 1.0]
    rep.text(
        "qbjax `MultiCellBattery`: n qubit cells, H_S = sum_i (w_i/2) sz_i + sum_{i<j} (lam_ij/2) sz_i sz_j "
        "(each pair ONCE: the paper's sum over i != j is ambiguous), each cell coupled through sx_i to its "
        "own Ohmic bosonic bath (J(w) = kappa w, Bose-Einstein n_i(w), T = 0 allowed), global Born-Markov-"
        "secular master equation with equal Bohr frequencies grouped into one A_i(w). Steady states by the "
        "core's linear solve (`qb.steady_state`), ergotropy of the full n-cell state w.r.t. H_S by "
        "`qb.ergotropy`. Every number below is computed by qbjax (float64) in this run; the paper gives no "
        "numerical tables, so its claims are checked qualitatively, one by one.",
        "**Erratum followed.** The printed A_i(w) (sum over E_k - E_m = w > 0 of "
        "|k><k| sx_i |m><m|) is a raising operator; with emission rate J(1 + n) it would pump the cells into "
        "inverted states at T_L = T_R. qbjax uses the lowering form A_i(w) = sum_{E_m - E_k = w} "
        "|k><k| sx_i |m><m|.",
        f"**Parameters.** w_L = w_M = w_R = w = {W} (unit of energy and temperature, hbar = k_B = 1); "
        "kappa = 1 (the steady state does not depend on kappa). Two cells (Figs. 2-3): the paper does not "
        f"state lam_LR; we show lam_LR = {LAM_PAPER_2} (its three-cell value, the natural reading) and "
        f"lam_LR = {LAM_ACTIVE_2} (where the two-cell ergotropy is largest, see the scan). Three cells "
        f"(Figs. 4-5): lam_LM = lam_MR = lam_LR = {LAM_3}. Fig. 6: T_L = 1, T_R = 0. Grids: curves with "
        f"{n_line} temperatures in [0, 2], maps {n_map} x {n_map} on [0, 2]^2, Fig. 6 {n_lam} values of lam "
        f"in [0, 2]{' (smoke mode: coarsest grids)' if smoke else ' (quick mode: coarser grids)' if quick else ''}.",
        "**Level crossings.** At w = 2 lam (three equal cells) and lam_LR = w (two cells) a bath transition "
        "has Bohr frequency 0; the secular master equation drops it, |d...d> is cut off and the steady state "
        "is not unique (the core's solver flags the generator as singular). qbjax refuses these points; the "
        "scans here use `degenerate='nan'`, so they appear as gaps (NaN), never as arbitrary values.",
    )

    # ---- two cells: Figs. 2-3 -------------------------------------------------------------------
    t0 = time.perf_counter()
    Ts = np.linspace(0.0, 2.0, n_line)
    Tm = np.linspace(0.0, 2.0, n_map)
    req2 = []  # (T_L, T_R, lam) requests, evaluated in one padded batched call
    for lam in (LAM_PAPER_2, LAM_ACTIVE_2):
        req2 += [(Ts[None, :], np.array(T_curves)[:, None], lam),  # vs T_L for several T_R
                 (np.array(T_curves)[:, None], Ts[None, :], lam),  # vs T_R for several T_L
                 (Tm[:, None], Tm[None, :], lam)]  # map [i, j] = (T_L = Tm[i], T_R = Tm[j])
    lams = np.linspace(0.0, 2.0, n_scan_lam)
    Tg = np.linspace(0.0, 2.0, n_scan_T)
    req2.append((Tg[None, :, None], Tg[None, None, :], lams[:, None, None]))  # lam_LR scan
    res2 = _many(erg2, req2)
    fig2 = {LAM_PAPER_2: (res2[0], res2[1]), LAM_ACTIVE_2: (res2[3], res2[4])}
    maps2 = {LAM_PAPER_2: res2[2], LAM_ACTIVE_2: res2[5]}
    scan = res2[6]  # (lam, T_L, T_R)
    timings["two_cell_figs"] = time.perf_counter() - t0

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for row, lam in enumerate((LAM_PAPER_2, LAM_ACTIVE_2)):
        a, b = fig2[lam]
        for k, T in enumerate(T_curves):
            axes[row, 0].plot(Ts, a[k], label=f"T_R = {T}")
            axes[row, 1].plot(Ts, b[k], label=f"T_L = {T}")
        axes[row, 0].set_xlabel("T_L")
        axes[row, 1].set_xlabel("T_R")
        for ax in axes[row]:
            ax.set_ylabel("ergotropy W")
            ax.set_title(f"two cells, lam_LR = {lam}")
            ax.legend(fontsize=7)
            if max(np.nanmax(np.abs(a)), np.nanmax(np.abs(b))) < 1e-12:  # identically zero (round-off)
                ax.set_ylim(-0.002, 0.045)
                ax.text(0.5, 0.5, "W = 0 (|W| < 1e-12) everywhere", transform=ax.transAxes, ha="center")
    rep.section("Two cells: Fig. 2 (ergotropy vs T_L and vs T_R)")
    rep.figure(fig, "fig2_two_cell_curves",
               f"Fig. 2: two cells; top lam_LR = {LAM_PAPER_2} (identically zero), bottom lam_LR = {LAM_ACTIVE_2}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, lam in zip(axes, (LAM_PAPER_2, LAM_ACTIVE_2)):
        im = ax.imshow(maps2[lam].T, origin="lower", extent=[0, 2, 0, 2], aspect="auto", cmap="viridis")
        ax.set_xlabel("T_L")
        ax.set_ylabel("T_R")
        ax.set_title(f"two cells, lam_LR = {lam}")
        fig.colorbar(im, ax=ax, label="W")
    rep.section("Two cells: Fig. 3 ((T_L, T_R) map)")
    rep.figure(fig, "fig3_two_cell_map", "Fig. 3: two-cell ergotropy maps")

    # ---- two cells: lam_LR scan -----------------------------------------------------------------
    finite = np.where(np.isfinite(scan), scan, -np.inf)
    wmax = finite.reshape(len(lams), -1).max(axis=1)
    wmax[~np.isfinite(wmax)] = np.nan
    arg = finite.reshape(len(lams), -1).argmax(axis=1)
    positive = np.nan_to_num(wmax) > 1e-10
    runs = _interval(lams, positive)
    k_best = int(np.nanargmax(wmax))
    iL, iR = np.unravel_index(arg[k_best], (len(Tg), len(Tg)))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(lams, wmax, ".-")
    ax.axvline(W, color="grey", ls=":", label="lam_LR = w (crossing, excluded)")
    ax.set_xlabel("lam_LR")
    ax.set_ylabel("max over (T_L, T_R) in [0,2]^2 of W")
    ax.legend(fontsize=8)
    rep.section("Two cells: where is the ergotropy positive? (scan over lam_LR)")
    rep.text(
        f"Maximum two-cell ergotropy over a {n_scan_T} x {n_scan_T} grid of (T_L, T_R) in [0, 2]^2, for "
        f"{n_scan_lam} values of lam_LR in [0, 2] (lam_LR = w = 1 is a level crossing and is excluded). "
        f"Positive (> 1e-10) for lam_LR in: {', '.join(f'[{a:.3g}, {b:.3g}]' for a, b in runs) or 'nowhere'}; "
        f"largest W = {fmt(wmax[k_best])} at lam_LR = {lams[k_best]:.3g}, T_L = {Tg[iL]:.3g}, T_R = {Tg[iR]:.3g}. "
        f"At lam_LR = {LAM_PAPER_2}: max W = {fmt(np.nanmax(maps2[LAM_PAPER_2]))} on the whole map.",
        "Why: H_S has no exchange term, so the steady state is diagonal (single flips never create "
        "coherences from populations) and the battery is a classical rate network. For small lam_LR each "
        "cell sees nearly the same Bohr frequency w +- lam_LR on both of its transitions, the populations "
        "stay (nearly) product-thermal and ordered like the energies; an inversion between |ud> (or |du>) "
        "and the states around it needs the two transition frequencies of a cell to differ a lot, i.e. "
        "lam_LR comparable to w.",
    )
    rep.figure(fig, "scan_two_cell_lamLR", "Maximum two-cell ergotropy vs lam_LR")

    # ---- three cells: Figs. 4-6 -----------------------------------------------------------------
    t0 = time.perf_counter()
    TMs4 = [0.0, 0.25, 0.5, 0.75, 1.0]
    TMs5 = [0.5, 0.75, 1.0]
    lam6 = np.linspace(0.0, 2.0, n_lam)
    req3 = [(Ts[None, :], np.array(TMs4)[:, None], 0.0, LAM_3),  # Fig. 4a: vs T_L, T_R = 0
            (0.0, np.array(TMs4)[:, None], Ts[None, :], LAM_3),  # Fig. 4b: vs T_R, T_L = 0
            (1.0, np.array(TMs5)[:, None], 0.0, lam6[None, :])]  # Fig. 6
    req3 += [(Tm[:, None], TM, Tm[None, :], LAM_3) for TM in TMs5]  # Fig. 5 maps
    res3 = _many(erg3, req3)
    f4a, f4b, f6 = res3[:3]
    maps3 = dict(zip(TMs5, res3[3:]))
    timings["three_cell_figs"] = time.perf_counter() - t0

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, TM in enumerate(TMs4):
        axes[0].plot(Ts, f4a[k], label=f"T_M = {TM}")
        axes[1].plot(Ts, f4b[k], label=f"T_M = {TM}")
    axes[0].set_xlabel("T_L (T_R = 0)")
    axes[1].set_xlabel("T_R (T_L = 0)")
    for ax in axes:
        ax.set_ylabel("ergotropy W")
        ax.legend(fontsize=7)
    rep.section("Three cells: Fig. 4 (lam = 0.1)")
    rep.figure(fig, "fig4_three_cell_curves", "Fig. 4: three cells, lam = 0.1; (a) vs T_L at T_R = 0, (b) vs T_R at T_L = 0")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    vmax = max(np.nanmax(m) for m in maps3.values())
    for ax, TM in zip(axes, TMs5):
        im = ax.imshow(maps3[TM].T, origin="lower", extent=[0, 2, 0, 2], aspect="auto", vmin=0, vmax=vmax)
        ax.set_xlabel("T_L")
        ax.set_ylabel("T_R")
        ax.set_title(f"T_M = {TM}")
    fig.colorbar(im, ax=axes, label="W")
    rep.section("Three cells: Fig. 5 ((T_L, T_R) maps, lam = 0.1)")
    rep.figure(fig, "fig5_three_cell_maps", "Fig. 5: three cells, lam = 0.1, T_M = 0.5, 0.75, 1")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for k, TM in enumerate(TMs5):
        ax.plot(lam6, f6[k], label=f"T_M = {TM}")
    ax.axvline(W / 2, color="grey", ls=":", label="w = 2 lam (crossing, excluded)")
    ax.set_xlabel("lam")
    ax.set_ylabel("ergotropy W")
    ax.legend(fontsize=8)
    rep.section("Three cells: Fig. 6 (ergotropy vs lam, T_L = 1, T_R = 0)")
    rep.figure(fig, "fig6_three_cell_lambda", "Fig. 6: three cells, T_L = 1, T_R = 0")

    # ---- claims ---------------------------------------------------------------------------------
    rep.section("The paper's claims, one by one")
    rows = []

    def claim(text, holds, evidence):
        rows.append([text, "holds" if holds else "does NOT hold", evidence])

    m01, m12 = maps2[LAM_PAPER_2], maps2[LAM_ACTIVE_2]
    diag12 = float(np.nanmax(np.abs(np.diag(m12))))
    claim("Two cells (Figs. 2-3): W > 0 off T_L = T_R (at the paper's lam_LR, read as 0.1)",
          float(np.nanmax(m01)) > 1e-10, f"max W over [0,2]^2 at lam_LR = 0.1: {fmt(np.nanmax(m01))}")
    claim("Two cells: W = 0 at T_L = T_R", diag12 < 1e-10 and float(np.nanmax(np.abs(np.diag(m01)))) < 1e-10,
          f"max |W| on the diagonal: {fmt(diag12)} (lam_LR = 1.2), {fmt(np.nanmax(np.abs(np.diag(m01))))} (0.1)")
    # growth with |T_L - T_R| at lam_LR = 1.2: fraction of the map where W > 0, and the corners
    dT = np.abs(Tm[:, None] - Tm[None, :])
    pos12 = m12 > 1e-10
    claim(f"Two cells: W grows with |T_L - T_R| (everywhere off the diagonal), checked at lam_LR = {LAM_ACTIVE_2}",
          bool(pos12[dT > 0].all()),
          f"W > 0 on {100 * pos12[dT > 0].mean():.0f}% of the off-diagonal map; W(T_L=2, T_R=0) = {fmt(m12[-1, 0])}, "
          f"W(T_L=0, T_R=2) = {fmt(m12[0, -1])}; W = 0 for small |T_L - T_R| and at low mean temperature")
    # three cells
    inc_TL = bool(np.all(np.diff(f4a[1:], axis=1) >= -1e-12))
    inc_TM_a = bool(np.all(np.diff(f4a[1:], axis=0) >= -1e-12))
    claim("Three cells (Fig. 4a): W grows with T_L at T_R = 0 (T_M > 0)", inc_TL,
          f"W(T_L = 2) = {', '.join(fmt(f4a[k, -1], 3) for k in range(len(TMs4)))} for T_M = {TMs4}")
    claim("Three cells (Fig. 4): W grows with T_M", inc_TM_a and bool(np.all(np.diff(f4b, axis=0) >= -1e-12)),
          "checked on every point of both panels of Fig. 4")
    inc_TR = bool(np.all(np.diff(f4b[1:], axis=1) >= -1e-12))
    claim("Three cells (Fig. 4b): W grows with T_R at T_L = 0 (T_M > 0)", inc_TR,
          f"W(T_R = 2) = {', '.join(fmt(f4b[k, -1], 3) for k in range(len(TMs4)))}")
    mx5 = [float(np.nanmax(maps3[TM])) for TM in TMs5]
    claim("Three cells (Fig. 5): the maximum over the map grows with T_M", bool(np.all(np.diff(mx5) > 0)),
          f"max W = {', '.join(fmt(v, 4) for v in mx5)} for T_M = {TMs5}")
    # Fig. 6
    f6n = np.where(np.isfinite(f6), f6, -np.inf)
    k_pk = f6n.argmax(axis=1)
    below = lam6 < W / 2
    zero_win = [(_interval(lam6, (np.nan_to_num(f6[k], nan=1.0) <= 1e-10) & (lam6 > W / 2))) for k in range(3)]
    tail_up = [bool(f6[k, -1] > f6[k, np.argmin(np.abs(lam6 - 1.6))]) for k in range(3)]
    claim("Fig. 6: an optimum near lam ~ 0.5", all(below[k_pk]) and all(lam6[k_pk] > 0.4),
          f"global maxima at lam = {', '.join(f'{lam6[k]:.3g}' for k in k_pk)} (just below the crossing w = 2 lam), "
          f"W = {', '.join(fmt(f6[k, j], 3) for k, j in enumerate(k_pk))}")
    j_after = np.argmin(np.abs(lam6 - 0.6))
    claim("Fig. 6: then a sudden drop", all(f6[k, j_after] < 0.5 * f6[k, k_pk[k]] for k in range(3)),
          f"W(lam = 0.6) = {', '.join(fmt(f6[k, j_after], 3) for k in range(3))} (discontinuous at the crossing)")
    claim("Fig. 6: for larger coupling W decreases and reaches zero (and stays there)", not any(tail_up),
          "W is zero on " + "; ".join(
              f"T_M={TM}: " + (", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in zw) or "nowhere")
              for TM, zw in zip(TMs5, zero_win))
          + "; (the isolated zero at lam = w = 1 is where the Bohr frequencies w - 2 lam and w merge in "
          "absolute value and the secular grouping changes discontinuously)"
          + "; then a small revival, and it grows again past lam ~ 1.6: W(lam = 2) = "
          + ", ".join(fmt(f6[k, -1], 3) for k in range(3)))
    rep.table(["claim", "verdict", "evidence (qbjax)"], rows)
    rep.text(
        "Verdict: the three-cell claims (Figs. 4-5, and the optimum just below lam = 0.5 with a sudden drop in "
        "Fig. 6) hold. The two-cell claims (Figs. 2-3) do not hold at lam_LR = 0.1: the ergotropy is "
        "identically zero there; qualitatively similar pictures (zero on T_L = T_R, positive for large "
        "|T_L - T_R|) appear only for lam_LR near w (see the scan), and even then W stays zero near the "
        "diagonal rather than growing from it. Fig. 6's 'reaches zero' is true only on a window: W revives "
        "and grows again at strong coupling."
    )

    # ---- beyond the paper: gradients and Optax --------------------------------------------------
    rep.section("Beyond the paper: gradients and gradient ascent (Optax)")
    t0 = time.perf_counter()
    p_ref = jnp.array([1.0, 1.0, 0.0, LAM_3])
    val, g = _vg3(p_ref)
    h = 1e-5
    fd = []
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        if k == 2:  # T_R = 0: one-sided (T >= 0), second order
            v = [float(_vg3(p_ref + j * jnp.asarray(e))[0]) for j in (0, 1, 2)]
            fd.append((-3 * v[0] + 4 * v[1] - v[2]) / (2 * h))
        else:
            fd.append((float(_vg3(p_ref + jnp.asarray(e))[0]) - float(_vg3(p_ref - jnp.asarray(e))[0])) / (2 * h))
    rep.text(f"Gradient of W at (T_L, T_M, T_R, lam) = (1, 1, 0, 0.1) (W = {fmt(val)}), by `jax.grad` through "
             "the steady-state solve and the ergotropy, vs central finite differences (one-sided at T_R = 0):")
    rep.table(["parameter", "dW/dp (jax.grad)", "finite difference", "|difference|"],
              [[n_, float(g[k]), fd[k], abs(float(g[k]) - fd[k])] for k, n_ in enumerate(["T_L", "T_M", "T_R", "lam"])])

    import optax

    box = {"T_M": (0.0, 1.0), "lam": (1.05, 1.5)}
    lo = np.array([box["T_M"][0], box["lam"][0]])
    hi = np.array([box["T_M"][1], box["lam"][1]])

    def value_grad(x):
        v, gp = _vg3(jnp.array([1.0, x[0], 0.0, x[1]]))
        gp = np.asarray(gp)
        return float(v), np.array([gp[1], gp[3]])

    n_steps = 5 if smoke else 60 if quick else 150
    opt = optax.adam(0.02)
    starts = [(0.2, 1.1), (0.5, 1.3), (0.8, 1.45), (0.95, 1.2)]
    results = []
    for s0 in starts:
        x = np.array(s0, dtype=float)
        state = opt.init(x)
        for _ in range(n_steps):
            v, gx = value_grad(x)
            upd, state = opt.update(-gx, state, x)  # ascent: minimise -W
            x = np.clip(np.asarray(optax.apply_updates(x, upd)), lo, hi)  # projection onto the box
        results.append((s0, x, value_grad(x)[0]))
    timings["optax"] = time.perf_counter() - t0
    ng = 11 if smoke else 41 if quick else 81
    gT = np.linspace(*box["T_M"], ng)
    gl = np.linspace(*box["lam"], ng)
    grid = erg3(1.0, gT[:, None], 0.0, gl[None, :])
    ib = np.unravel_index(np.nanargmax(grid), grid.shape)
    best = max(results, key=lambda r: r[2])
    rep.text(
        f"Maximise W(T_M, lam) at T_L = 1, T_R = 0 (the Fig. 6 setting) within the box T_M in {box['T_M']}, "
        f"lam in {box['lam']} (the revival window of Fig. 6, between the crossings lam = w and the "
        "strong-coupling growth; below lam = 0.5 W grows monotonically in T_M and lam up to the excluded "
        "crossing, and above 1.6 it grows towards lam = 2, so those boxes have their optimum at a corner). "
        "Box constraint by projection (clipping) after each Optax Adam step, learning "
        f"rate 0.02, {n_steps} steps, {len(starts)} starts (W has zero plateaus where the gradient vanishes).",
    )
    rep.table(["start (T_M, lam)", "end (T_M, lam)", "W at end"],
              [[f"({a:.3g}, {b:.3g})", f"({x[0]:.4g}, {x[1]:.4g})", w] for (a, b), x, w in results])
    rep.table(["method", "T_M", "lam", "W"], [
        ["gradient ascent (best start)", best[1][0], best[1][1], best[2]],
        [f"best point of a {ng} x {ng} grid", gT[ib[0]], gl[ib[1]], grid[ib]],
    ])
    rep.check("ascent W - best grid W (>= -1e-4 means ascent matches or beats the grid)", None,
              best[2] - float(grid[ib]))
    ok_opt = best[2] >= float(grid[ib]) - 1e-4
    at_edge = [n_ for n_, v, a, b in (("T_M", best[1][0], lo[0], hi[0]), ("lam", best[1][1], lo[1], hi[1]))
               if min(abs(v - a), abs(v - b)) < 1e-9]
    rep.text(f"Gradient ascent {'matches or beats' if ok_opt else 'falls short of'} the best grid point "
             f"(difference {fmt(best[2] - float(grid[ib]))})."
             + (f" The optimum lies on the boundary of the box ({', '.join(at_edge)} at a bound): within it W "
                "keeps growing towards lower T_M and stronger lam (the strong-coupling growth of Fig. 6); the "
                "projected gradient reaches that edge from every start." if at_edge else ""))

    timings["total"] = time.perf_counter() - t_start
    rep.section("Timings")
    rep.table(["stage", "seconds (incl. compilation)"], [[k, v] for k, v in timings.items()])
    return rep.write()
