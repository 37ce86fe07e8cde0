"""Figures of the learning report (paper 000 Figs. 2-9); matplotlib imported only here (Agg).

Every figure is saved through :func:`qbjax._figures.save_figure`, which refuses a figure without a
unit on every axis, a labelled colorbar per colour map, or overlapping panels.  Units follow the
four-level model (hbar = k_B = 1): temperatures and Q_h are in its energy unit; ratios, scores,
probabilities and the C_i are dimensionless.

:func:`save_all` draws the figures whose data the result holds: a live result of
:func:`qbjax.learn.pipeline.learn` has them all; a ``results.json`` read back (no ``_arrays`` or
``_figdata``) still has what Figs. 3, 5 and 6 need (learning curves and importance).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._figures import save_figure
from .._runs import pyplot
from .mappings import LOGISTIC, LOGISTIC_PAPER

__all__ = ["fig_classes", "fig_curves", "fig_importance", "fig_kde_logistic", "fig_test_curves", "save_all"]

COLORS = {"MLP": "tab:red", "HGB": "tab:green", "RF": "tab:blue"}
#: units of the columns drawn in Fig. 9 (the four-level model's units, hbar = k_B = 1)
UNITS = {"T_h": "energy units", "T_l": "energy units", "Q_h": "energy units", "p_c": "dimensionless",
         "C4": "dimensionless"}
_DENSITY_UNITS = {"energy units": "1/energy units", "dimensionless": "dimensionless"}


def _count_label(v, _pos=None) -> str:
    """A tick label of a row count: 500, 1k, 20k, 1M (exact with separators where not round)."""
    v = float(v)
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= scale and (v / scale) == round(v / scale, 1):
            return f"{v / scale:g}{suffix}"
    return f"{v:,.0f}"


def _size_ticks(lo: float, hi: float, sizes) -> list:
    """At most four 1-2-5 ticks in [lo, hi] (decades only where those are too many); the data sizes
    themselves where fewer than two such ticks fall in the range."""
    exps = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0**e for e in exps for m in mantissas if lo <= m * 10.0**e <= hi]
        if len(ticks) <= 4:
            break
    if len(ticks) < 2:
        ticks = sorted({float(s) for s in sizes})
    return ticks


def _size_axis(ax, sizes) -> None:
    """Log-scale x axis of training-set sizes with a few readable tick labels and no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    lo, hi = min(sizes) / 1.4, max(sizes) * 1.4
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(_size_ticks(lo, hi, sizes)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_count_label))


def _class_cycle(fig, n_classes: int) -> None:
    """Distinct line colours for up to 20 classes (matplotlib's default cycle repeats after 10)."""
    if n_classes > 10:
        from cycler import cycler

        colors = pyplot().get_cmap("tab20").colors
        for ax in fig.axes:
            ax.set_prop_cycle(cycler(color=colors))


def fig_classes(res):
    """Fig. 2: (a) ratio histograms DEV vs TEST, (b) silhouette and WCSS vs K, (c) class-wise ratios."""
    plt = pyplot()
    a = res["_arrays"]
    sel = res["labels"]["selection"]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.0), layout="constrained")
    _class_cycle(fig, res["labels"]["n_classes"])
    r = a["ratio"]
    lo, hi = np.percentile(r, [0.5, 99.5])
    bins = np.linspace(lo, hi, 80)
    ax[0].hist(r[a["is_dev"]], bins=bins, alpha=0.6, density=True, label="DEV")
    ax[0].hist(r[~a["is_dev"]], bins=bins, alpha=0.6, density=True, label="TEST")
    ax[0].set(xlabel="E/E0, 0.5-99.5 percentile range (dimensionless)", ylabel="probability density (dimensionless)",
              title=f"(a) DEV / TEST ({r.size:,} sampled rows)")
    ax[0].legend()
    ax1 = ax[1]
    ax1.plot(sel["ks"], sel["silhouette"], "o-", color="tab:blue")
    ax1.set(xlabel="K, clusters of E/E0 >= 1 (count)", ylabel="silhouette (dimensionless)",
            title=f"(b) K = {res['labels']['k']} ({sel['rule']})")
    ax1.set_xticks(sel["ks"])
    ax1.yaxis.label.set_color("tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(sel["ks"], sel["wcss"], "s--", color="tab:orange")
    ax2.set_ylabel("WCSS of standardised E/E0 (dimensionless)", color="tab:orange")
    for c in range(res["labels"]["n_classes"]):
        rc = r[a["y"] == c]
        if rc.size:
            ax[2].hist(rc, bins=bins, alpha=0.6, label=f"class {c}")
    ax[2].set(xlabel="E/E0, 0.5-99.5 percentile range (dimensionless)", ylabel="rows (count)",
              title="(c) classes", yscale="log")
    ax[2].legend()
    return fig


def fig_curves(res, mappings, title):
    """Figs. 3 / 6: validation macro-F1 and train/validation F1 ratio vs training rows, per mapping
    (log-scale x axis shared by every panel, y axes shared along each row)."""
    plt = pyplot()
    mappings = [m for m in mappings if m in res["curves"]]
    n = len(mappings)
    fig, ax = plt.subplots(2, n, figsize=(max(2.5 * n, 4.8), 5.4), squeeze=False, sharex="all", sharey="row",
                           layout="constrained")
    sizes = sorted({r["size"] for m in mappings for rows in res["curves"][m].values() for r in rows})
    for j, m in enumerate(mappings):
        for kind, rows in res["curves"][m].items():
            if not rows:
                continue
            s = [r["size"] for r in rows]
            ax[0, j].plot(s, [r["f1_val"] for r in rows], "o-", color=COLORS.get(kind), label=kind)
            ax[1, j].plot(s, [r["ratio"] for r in rows], "o-", color=COLORS.get(kind), label=kind)
        ax[0, j].set_title(m)
        ax[1, j].set_xlabel("training rows (count)")
        for i in range(2):
            ax[i, j].grid(True, lw=0.4, alpha=0.5)
    if sizes:
        _size_axis(ax[0, 0], sizes)
    ax[1, 0].axhline(1.0, color="k", lw=0.6, ls=":")
    ax[0, 0].set_ylabel("validation macro-F1\n(dimensionless)")
    ax[1, 0].set_ylabel("F1_train / F1_val\n(dimensionless)")
    ax[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def fig_test_curves(res, mapping):
    """Figs. 4, 7, 8: TEST confusion matrix, one-vs-rest ROC and PR curves (MLP)."""
    plt = pyplot()
    d = res["_figdata"][mapping]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.1), layout="constrained")
    cm = np.asarray(d["confusion"])
    _class_cycle(fig, cm.shape[0])
    im = ax[0].imshow(cm, cmap="Blues")
    cb = fig.colorbar(im, ax=ax[0], shrink=0.9)
    cb.set_label("TEST rows (count)")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            dark = cm[i, j] > 0.5 * cm.max()
            ax[0].text(j, i, f"{cm[i, j]:,}", ha="center", va="center", fontsize=8,
                       color="white" if dark else "black")
    ax[0].set(xlabel="predicted class (index)", ylabel="true class (index)", title=f"(a) {mapping} MLP confusion (TEST)",
              xticks=range(cm.shape[1]), yticks=range(cm.shape[0]))
    for c, (fpr, tpr, a) in enumerate(d["roc"]):
        ax[1].plot(fpr, tpr, label=f"class {c}: AUC {a:.3f}")
    ax[1].plot([0, 1], [0, 1], "k:", lw=0.8)
    ax[1].set(xlabel="false positive rate (dimensionless)", ylabel="true positive rate (dimensionless)",
              title="(b) ROC (one vs rest)")
    ax[1].legend(fontsize=8)
    for c, (rec, prec, ap) in enumerate(d["pr"]):
        ax[2].plot(rec, prec, label=f"class {c}: AP {ap:.3f}")
    ax[2].set(xlabel="recall (dimensionless)", ylabel="precision (dimensionless)", title="(c) precision-recall")
    ax[2].legend(fontsize=8)
    return fig


def fig_importance(res):
    """Fig. 5: permutation importance (drop in macro-F1, mean and standard deviation over the
    shuffles) per model."""
    plt = pyplot()
    kinds = list(res["importance"])
    fig, ax = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4.4), squeeze=False, layout="constrained")
    for j, kind in enumerate(kinds):
        items = sorted(res["importance"][kind].items(), key=lambda kv: -kv[1][0])
        names = [i[0] for i in items][::-1]
        pos = np.arange(len(names))  # numeric positions with name labels (not a categorical axis)
        ax[0, j].barh(pos, [i[1][0] for i in items][::-1], xerr=[i[1][1] for i in items][::-1],
                      color=COLORS.get(kind))
        ax[0, j].set_yticks(pos, names)
        ax[0, j].set_ylim(-0.6, len(names) - 0.4)
        ax[0, j].axvline(0, color="k", lw=0.6)
        ax[0, j].set(title=f"({'abcdefgh'[j]}) {kind}", xlabel="drop in validation macro-F1 (dimensionless)",
                     ylabel="shuffled variable (dataset column)")
        ax[0, j].tick_params(axis="y", labelsize=7)
    reps = (res.get("options") or {}).get("importance_repeats")
    if reps:
        fig.suptitle(f"Permutation importance: mean over {reps} shuffle{'s' if reps != 1 else ''}, error bar one standard deviation")
    return fig


def _kde(x, grid):
    x = np.asarray(x, np.float64)
    if x.size > 4000:
        x = np.random.default_rng(0).choice(x, 4000, replace=False)
    sd = x.std()
    if x.size < 2 or sd == 0:
        return np.zeros_like(grid)
    h = 1.06 * sd * x.size ** (-0.2)
    z = (grid[:, None] - x[None, :]) / h
    return np.exp(-0.5 * z * z).sum(axis=1) / (x.size * h * np.sqrt(2 * np.pi))


def fig_kde_logistic(res):
    """Fig. 9: class-wise KDEs of T_h, T_l, Q_h, p_c, C4 and the logistic coefficients vs the paper."""
    plt = pyplot()
    a = res["_arrays"]
    fig, ax = plt.subplots(1, 6, figsize=(20, 3.8), layout="constrained")
    _class_cycle(fig, res["labels"]["n_classes"])
    for j, c in enumerate(("T_h", "T_l", "Q_h", "p_c", "C4")):
        x = a[c]
        lo, hi = np.percentile(x, [0.5, 99.5])
        grid = np.linspace(lo, hi, 200)
        for k in range(res["labels"]["n_classes"]):
            xk = x[(a["y"] == k) & (x >= lo) & (x <= hi)]
            if xk.size > 1:
                ax[j].plot(grid, _kde(xk, grid), label=f"class {k}")
        ax[j].set(title=f"({'abcde'[j]}) {c}, 0.5-99.5 percentile range", xlabel=f"{c} ({UNITS[c]})",
                  ylabel=f"density ({_DENSITY_UNITS[UNITS[c]]})")
        ax[j].title.set_fontsize(9)
    ax[0].legend(fontsize=7)
    lg = res.get("logistic")
    xs = np.arange(len(LOGISTIC))
    ax[5].bar(xs - 0.2, [LOGISTIC_PAPER[c] for c in LOGISTIC], 0.4, label="paper", color="0.6")
    if lg:
        ax[5].bar(xs + 0.2, [lg["coef"][c] for c in LOGISTIC], 0.4, label="qbjax", color="tab:purple")
    ax[5].set_xticks(xs, LOGISTIC)
    ax[5].axhline(0, color="k", lw=0.6)
    ax[5].set(title="(f) logistic regression, class 2 vs rest", xlabel="standardised f6 feature (dimensionless)",
              ylabel="log-odds coefficient (dimensionless)")
    ax[5].title.set_fontsize(9)
    ax[5].legend(fontsize=7)
    return fig


def save_all(res, out_dir) -> dict:
    """Draw every figure of one result whose data it holds into ``out_dir`` (checked and saved by
    :func:`qbjax._figures.save_figure`); returns {figure key: file name}."""
    from .mappings import MANUAL, SELECTED

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays, figdata = "_arrays" in res, res.get("_figdata") or {}
    draw = {}
    if arrays:
        draw["fig2_classes"] = lambda: fig_classes(res)
    manual = [m for m in MANUAL if m in res["curves"]]
    selected = [m for m in SELECTED if m in res["curves"]]
    if manual:
        draw["fig3_curves_manual"] = lambda: fig_curves(res, manual, "Fig. 3: learning curves, manual mappings")
    for m, key in (("f_C", "fig4_fC"), ("f5", "fig7_f5"), ("f6", "fig8_f6")):
        if m in figdata:
            draw[key] = lambda m=m: fig_test_curves(res, m)
    if res["importance"]:
        draw["fig5_importance"] = lambda: fig_importance(res)
    if selected:
        draw["fig6_curves_selected"] = lambda: fig_curves(res, selected, "Fig. 6: learning curves, f1..f7")
    if arrays:
        draw["fig9_kde_logistic"] = lambda: fig_kde_logistic(res)
    names = {}
    for key in sorted(draw):
        save_figure(draw[key](), out_dir / f"{key}.png", dpi=100)
        names[key] = f"{key}.png"
    return names
