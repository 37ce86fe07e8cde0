"""The figures of `qbjax reproduce fourlevel` (paper 000, Fig. 1 and the dataset ratio), one function each.

Each takes the report, the results of :func:`qbjax.reproduce.fourlevel._compute` and pyplot, draws one
figure from those results only and adds it with its caption.
"""

from __future__ import annotations

import numpy as np

from .._figures import roundoff_to_zero

_RT = "r t (dimensionless)"
_SET_COLOURS = ("tab:blue", "grey")
_CONV_STYLES = (("physical", "-"), ("published", "--"))


def _caption_sets(res) -> str:
    n = len(res["fig1"]["ts"])
    return (f"{n} times on 0 <= r t <= 10; solid: corrected generator, dashed: printed Eq. (1) (normalised to unit "
            "population); blue: caption set 1, grey: set 2 (p_h = 0.9, p_c = 0.1, T_c = 0.1, T_h = 2)")


def _lines(ax, res, key, start: int = 0, zero: bool = False) -> list:
    """One line per (set, convention) of curve ``key``; returns the labels of curves with no finite point."""
    ts, empty = res["fig1"]["ts"], []
    for (name, conv), c in res["fig1"]["curves"].items():
        colour = _SET_COLOURS[0] if name.startswith("set 1") else _SET_COLOURS[1]
        ls = dict(_CONV_STYLES)[conv]
        y = roundoff_to_zero(c[key]) if zero else c[key]
        ax.plot(ts[start:], y[start:], ls=ls, color=colour, label=f"{name}, {conv}")
        if not np.isfinite(y[start:]).any():
            empty.append(f"{name.split(' (')[0]}, {conv}")
    return empty


def _legend(fig, ax) -> None:
    """One legend for the figure, below its panels."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8)


def fig1_cde(rep, res, plt) -> None:
    """Fig. 1 (c-e): the energy ratios of Eqs. (2)-(4) vs time."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    labels = [("s_over_c", "<H_s>/<H_c> (dimensionless)", "(c) storage / charging"),
              ("L_over_s", "<H_L>/<H_s> (dimensionless)", "(d) leak / storage"),
              ("L_over_c", "<H_L>/<H_c> (dimensionless)", "(e) leak / charging")]
    for ax, (key, ylabel, title) in zip(axes, labels):
        _lines(ax, res, key, start=1)
        ax.set(xlabel=_RT, ylabel=ylabel, title=title)
    _legend(fig, axes[0])
    rep.figure(fig, "fig1_cde", "Fig. 1 (c-e): energy ratios of Eqs. (2)-(4) vs r t, from r t > 0 ("
               + _caption_sets(res) + ")")


def fig1_f(rep, res, plt) -> None:
    """Fig. 1 (f): E/E0 and the two ergotropies vs time."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    empty = _lines(axes[0], res, "ratio", start=1)
    axes[0].axhline(1.0, color="k", lw=0.6)
    axes[0].set(xlabel=_RT, ylabel="E / E0 (dimensionless)", title="(f) normalised ergotropy")
    _lines(axes[1], res, "E", zero=True)
    axes[1].set(xlabel=_RT, ylabel="E, ergotropy (dimensionless)", title="ergotropy E")
    _lines(axes[2], res, "E0", zero=True)
    axes[2].set(xlabel=_RT, ylabel="E0, baseline ergotropy (dimensionless)",
                title="baseline E0 (p_c = p_h = tau = 0)")
    _legend(fig, axes[1])
    missing = (f"; no finite E/E0 (E0 <= 1e-12 at every time) for {', '.join(empty)}" if empty else "")
    rep.figure(fig, "fig1_f", "Fig. 1 (f): E(t)/E0(t) where E0 > 1e-12, and the two ergotropies (round-off "
               f"zeros drawn as 0) ({_caption_sets(res)}){missing}")


def fig_ratio_histogram(rep, res, plt) -> None:
    """Histograms of the finite ratios E/E0 of the random Table-I configurations, per convention."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    st = res["statistics"]
    positive = np.concatenate([st[c]["ratio"][st[c]["ratio"] > 0] for c in ("published", "physical")])
    lo = min(positive.min(initial=1.0), 0.5)
    hi = max(positive.max(initial=1.0), 2.0)
    bins = np.geomspace(lo, hi, 31)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", sharex=True)
    zeros = []
    for ax, conv, title in zip(axes, ("published", "physical"), ("printed Eq. (1)", "corrected generator")):
        ratio = st[conv]["ratio"]
        zeros.append(f"{int((ratio <= 0).sum())} ({title})")
        ax.hist(ratio[ratio > 0], bins=bins, color="tab:blue" if conv == "published" else "grey")
        ax.axvline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(numticks=6))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="E / E0 (dimensionless)", ylabel="configurations (count)",
               title=f"{title}: {ratio.size} finite ratios")
    rep.figure(fig, "fig_ratio_histogram",
               f"Steady-state E/E0 of the {res['features']['n']} random Table-I configurations (seed 2026) with a "
               f"baseline inversion (E0 > 1e-12), 30 log-spaced bins; dashed: E/E0 = 1; ratios of exactly 0 "
               f"(not drawn): {', '.join(zeros)}")
