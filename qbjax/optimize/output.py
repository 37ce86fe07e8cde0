"""Outputs of the four-level inverse design: result.json, the convergence and box figures (checked and
saved by :func:`qbjax._figures.save_figure`), and a Markdown summary table.

The box figure needs only what result.json stores (:func:`plot_box` redraws it from a result.json
read back); the convergence figure needs every start's history, which result.json does not keep
(only the best value over the starts per step)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._figures import save_figure
from .._runs import jsonable, md_table, pyplot
from ..models.four_level import PARAMETERS
from .four_level import BOX_NAMES, box_bounds

__all__ = ["markdown_summary", "plot_box", "write_result"]

#: axis label (with unit) of each objective; energies in the model's unit (hbar = k_B = 1)
OBJECTIVE_LABELS = {"ergotropy": ("ergotropy E", "energy units"), "ratio": ("E/E0", "dimensionless"),
                    "C4": ("C4 = j4/j0_4", "dimensionless")}


def _objective_label(objective: str, what: str) -> str:
    name, unit = OBJECTIVE_LABELS.get(objective, (objective, "model units"))
    return f"{name}, {what} ({unit})"


def _compare(res: dict, grid: dict) -> dict:
    o = res["objective"]
    g = grid[o]["constrained"]
    ratio = res["value"] / g["value"] if g["value"] not in (None, 0) else None
    return {
        "grid_best": g, "grid_best_sweep_filter_only": grid[o]["filtered"],
        "optimum_over_grid": ratio,
        "grid": {k: grid[k] for k in ("n_total", "n_kept", "points", "grid_seed", "source", "wall_s")},
    }


def write_result(res: dict, grid: dict, out_dir) -> dict:
    """Write result.json, convergence.png and box.png under ``out_dir``; returns the JSON dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in res.items() if k not in ("history", "current")}
    data.update(_compare(res, grid))
    data["convergence"] = {"best_per_step_over_starts": np.max(res["history"], axis=1)}
    data = jsonable(data)
    (out / "result.json").write_text(json.dumps(data, indent=2))
    _plot_convergence(res, data, out / "convergence.png")
    plot_box(data, out / "box.png")
    return data


def _plot_convergence(res, data, path):
    plt = pyplot()
    h = np.where(np.isfinite(res["history"]), res["history"], np.nan)
    steps = np.arange(1, h.shape[0] + 1)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(steps, h, color="0.6", lw=0.6, alpha=0.6)
    ax.plot(steps, h[:, res["best_start"]], color="tab:red", lw=1.8, label=f"best start ({res['best_start']})")
    g = data["grid_best"]["value"]
    if g is not None:
        ax.axhline(g, color="tab:blue", ls="--", label=f"grid best {g:.4g} (id {data['grid_best']['config_id']})")
    pos = h[np.isfinite(h)]
    if pos.size and pos.min() > 0 and pos.max() / pos.min() > 50:
        ax.set_yscale("log")
    ax.set_xlabel("Adam step (count)")
    ax.set_ylabel(_objective_label(res["objective"], "best feasible so far"))
    ax.set_title(f"{res['objective']} ({res['conventions']}): {res['n_starts']} starts (grey: each start)")
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, path)


def plot_box(data, path):
    """box.png: where each start's optimum, the best optimum and the grid best lie in the Table-I box
    (coordinates scaled to [0, 1]), from a result.json dict."""
    plt = pyplot()
    lo, hi = box_bounds()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xs = np.array([r["x"] for r in data["starts"] if r["value"] is not None])
    ys = np.arange(len(BOX_NAMES))
    if xs.size:
        u = (xs - lo) / (hi - lo)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=u.shape)
        ax.scatter(u, ys[None, :] + jitter, s=8, color="0.6", label="each start's optimum")
    ub = (np.asarray(data["x"]) - lo) / (hi - lo)
    ax.scatter(ub, ys, marker="*", s=140, color="tab:red", zorder=3, label="best optimum")
    if data["grid_best"].get("x") is not None:
        ug = (np.asarray(data["grid_best"]["x"]) - lo) / (hi - lo)
        ax.scatter(ug, ys, marker="x", s=60, color="tab:blue", zorder=3, label="grid best")
    ax.set_yticks(ys, [f"{k} [{a:g}, {b:g}]" for k, a, b in zip(BOX_NAMES, lo, hi)])
    ax.set_xlim(-0.05, 1.05)
    ax.axvline(0, color="k", lw=0.5)
    ax.axvline(1, color="k", lw=0.5)
    ax.set_xlabel("position in the Table-I box, u = (x - lo)/(hi - lo) (dimensionless)")
    ax.set_ylabel("box coordinate [lo, hi] (model units)")
    ax.set_title(f"{data['objective']} ({data['conventions']}) = {data['value']:.5g}")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    save_figure(fig, path)


def _fmt(v, d=5):
    return "-" if v is None else f"{v:.{d}g}"


def markdown_summary(results: list[dict]) -> str:
    """Two GitHub-Markdown tables of result.json dicts (one row per objective/conventions): the optima
    against the grid, and the optimal parameters."""
    rows = []
    for d in results:
        g, gf = d["grid_best"], d["grid_best_sweep_filter_only"]
        rows.append([d["objective"], d["conventions"], d["settings"]["constraint"] or "-", _fmt(d["value"], 6),
                     f"{_fmt(g['value'], 6)} ({g['config_id']})", _fmt(d["optimum_over_grid"], 4),
                     f"{_fmt(gf['value'], 6)} ({gf['config_id']})", ", ".join(d["at_lower"]) or "-",
                     ", ".join(d["at_upper"]) or "-", "; ".join(d["active_constraints"]) or "-", f"{d['wall_s']:.1f}"])
    lines = md_table(["objective", "conventions", "constraint", "optimum", "grid best (config_id)", "optimum / grid",
                      "grid best, sweep filter only", "on lower edge", "on upper edge", "active constraint",
                      "wall s"], rows)
    rows = [[d["objective"], d["conventions"]] + [_fmt(d["params"][k], 4) for k in PARAMETERS]
            + [_fmt(d["features"]["E"], 4), _fmt(d["features"]["E0"], 4)] for d in results]
    lines += md_table(["objective", "conventions", *PARAMETERS, "E", "E0"], rows)
    return "\n".join(lines)
