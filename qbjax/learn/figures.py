"""Figures of the learning report (paper 000 Figs. 2-9); matplotlib imported only here (Agg)."""

from __future__ import annotations

import numpy as np

from .mappings import LOGISTIC, LOGISTIC_PAPER

__all__ = ["fig_classes", "fig_curves", "fig_importance", "fig_kde_logistic", "fig_test_curves", "save_all"]

COLORS = {"MLP": "tab:red", "HGB": "tab:green", "RF": "tab:blue"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _clip(x, lo=0.5, hi=99.5):
    a, b = np.percentile(x, [lo, hi])
    return x[(x >= a) & (x <= b)]


def fig_classes(res):
    """Fig. 2: (a) ratio histograms DEV vs TEST, (b) silhouette and WCSS vs K, (c) class-wise ratios."""
    plt = _plt()
    a = res["_arrays"]
    sel = res["labels"]["selection"]
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.8))
    r = a["ratio"]
    lo, hi = np.percentile(r, [0.5, 99.5])
    bins = np.linspace(lo, hi, 80)
    ax[0].hist(r[a["is_dev"]], bins=bins, alpha=0.6, density=True, label="DEV")
    ax[0].hist(r[~a["is_dev"]], bins=bins, alpha=0.6, density=True, label="TEST")
    ax[0].set(xlabel="E/E0 (0.5-99.5 percentile)", ylabel="density", title="(a) DEV / TEST")
    ax[0].legend()
    ax1 = ax[1]
    ax1.plot(sel["ks"], sel["silhouette"], "o-", color="tab:blue")
    ax1.set(xlabel="K (clusters of ratio >= 1)", ylabel="silhouette", title=f"(b) K = {res['labels']['k']} "
            f"({sel['rule']})")
    ax2 = ax1.twinx()
    ax2.plot(sel["ks"], sel["wcss"], "s--", color="tab:orange")
    ax2.set_ylabel("WCSS", color="tab:orange")
    for c in range(res["labels"]["n_classes"]):
        rc = r[a["y"] == c]
        if rc.size:
            ax[2].hist(rc, bins=bins, alpha=0.6, label=f"class {c}")
    ax[2].set(xlabel="E/E0", ylabel="count", title="(c) classes", yscale="log")
    ax[2].legend()
    return fig


def fig_curves(res, mappings, title):
    """Figs. 3 / 6: validation macro-F1 and train/validation F1 ratio vs DEV size, per mapping."""
    plt = _plt()
    mappings = [m for m in mappings if m in res["curves"]]
    fig, ax = plt.subplots(2, len(mappings), figsize=(2.6 * len(mappings), 5.2), squeeze=False)
    for j, m in enumerate(mappings):
        for kind, rows in res["curves"][m].items():
            if not rows:
                continue
            s = [r["size"] for r in rows]
            ax[0, j].plot(s, [r["f1_val"] for r in rows], "o-", color=COLORS.get(kind), label=kind)
            ax[1, j].plot(s, [r["ratio"] for r in rows], "o-", color=COLORS.get(kind), label=kind)
        ax[0, j].set_title(m)
        ax[0, j].set_xscale("log")
        ax[1, j].set_xscale("log")
        ax[1, j].set_xlabel("DEV size")
    ax[0, 0].set_ylabel("validation macro-F1")
    ax[1, 0].set_ylabel("F1_train / F1_val")
    ax[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def fig_test_curves(res, mapping):
    """Figs. 4, 7, 8: TEST confusion matrix, one-vs-rest ROC and PR curves (MLP)."""
    plt = _plt()
    d = res["_figdata"][mapping]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.9))
    cm = np.asarray(d["confusion"])
    ax[0].imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax[0].text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8)
    ax[0].set(xlabel="predicted", ylabel="true", title=f"(a) {mapping} MLP confusion (TEST)",
              xticks=range(cm.shape[1]), yticks=range(cm.shape[0]))
    for c, (fpr, tpr, a) in enumerate(d["roc"]):
        ax[1].plot(fpr, tpr, label=f"class {c}: AUC {a:.3f}")
    ax[1].plot([0, 1], [0, 1], "k:", lw=0.8)
    ax[1].set(xlabel="false positive rate", ylabel="true positive rate", title="(b) ROC (one vs rest)")
    ax[1].legend(fontsize=8)
    for c, (rec, prec, ap) in enumerate(d["pr"]):
        ax[2].plot(rec, prec, label=f"class {c}: AP {ap:.3f}")
    ax[2].set(xlabel="recall", ylabel="precision", title="(c) precision-recall")
    ax[2].legend(fontsize=8)
    return fig


def fig_importance(res):
    """Fig. 5: permutation importance (drop in macro-F1, 5 shuffles) per model."""
    plt = _plt()
    kinds = list(res["importance"])
    fig, ax = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4.2), squeeze=False)
    for j, kind in enumerate(kinds):
        items = sorted(res["importance"][kind].items(), key=lambda kv: -kv[1][0])
        names = [i[0] for i in items]
        ax[0, j].barh(names[::-1], [i[1][0] for i in items][::-1], xerr=[i[1][1] for i in items][::-1],
                      color=COLORS.get(kind))
        ax[0, j].set(title=f"({'abc'[j]}) {kind}", xlabel="drop in macro-F1")
        ax[0, j].tick_params(axis="y", labelsize=7)
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
    plt = _plt()
    a = res["_arrays"]
    fig, ax = plt.subplots(1, 6, figsize=(19, 3.4))
    for j, c in enumerate(("T_h", "T_l", "Q_h", "p_c", "C4")):
        x = a[c]
        lo, hi = np.percentile(x, [0.5, 99.5])
        grid = np.linspace(lo, hi, 200)
        for k in range(res["labels"]["n_classes"]):
            xk = x[(a["y"] == k) & (x >= lo) & (x <= hi)]
            if xk.size > 1:
                ax[j].plot(grid, _kde(xk, grid), label=f"class {k}")
        ax[j].set(title=f"({'abcde'[j]}) {c}", xlabel=c)
    ax[0].legend(fontsize=7)
    lg = res.get("logistic")
    xs = np.arange(len(LOGISTIC))
    ax[5].bar(xs - 0.2, [LOGISTIC_PAPER[c] for c in LOGISTIC], 0.4, label="paper", color="0.6")
    if lg:
        ax[5].bar(xs + 0.2, [lg["coef"][c] for c in LOGISTIC], 0.4, label="qbjax", color="tab:purple")
    ax[5].set_xticks(xs, LOGISTIC)
    ax[5].axhline(0, color="k", lw=0.6)
    ax[5].set(title="(f) log-odds, class 2 vs rest")
    ax[5].legend(fontsize=7)
    return fig


def save_all(res, out_dir) -> dict:
    """Draw every figure of one result into ``out_dir``; returns {figure key: file name}."""
    from pathlib import Path

    from .mappings import MANUAL, SELECTED

    plt = _plt()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = {"fig2_classes": fig_classes(res)}
    manual = [m for m in MANUAL if m in res["curves"]]
    selected = [m for m in SELECTED if m in res["curves"]]
    if manual:
        figs["fig3_curves_manual"] = fig_curves(res, manual, "Fig. 3: learning curves, manual mappings")
    for m, key in (("f_C", "fig4_fC"), ("f5", "fig7_f5"), ("f6", "fig8_f6")):
        if m in res["_figdata"]:
            figs[key] = fig_test_curves(res, m)
    if res["importance"]:
        figs["fig5_importance"] = fig_importance(res)
    if selected:
        figs["fig6_curves_selected"] = fig_curves(res, selected, "Fig. 6: learning curves, f1..f7")
    figs["fig9_kde_logistic"] = fig_kde_logistic(res)
    names = {}
    for key, fig in figs.items():
        fig.tight_layout()
        fig.savefig(out_dir / f"{key}.png", dpi=90)
        plt.close(fig)
        names[key] = f"{key}.png"
    return names
