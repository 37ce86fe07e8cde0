"""Checks every figure qbjax writes passes before it is saved, and small helpers for drawing them.

A physicist reads the figures without the code, so every panel must say what it shows:

* every visible axis (x and y of every panel, the long axis of every colorbar) has a label that
  carries its unit in parentheses, "(dimensionless)" included; panels that share an axis need one
  label for the group;
* no two panels overlap (a colorbar squeezed onto its neighbour, say);
* images and colour maps have a colorbar.

:func:`figure_problems` lists what fails and :func:`save_figure` refuses to save a figure with
problems (the reports, the learning pipeline and the optimisers all save through it).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["figure_problems", "roundoff_to_zero", "save_figure"]

_UNIT = re.compile(r"\(.+\)")


def roundoff_to_zero(values, scale=None, rtol: float = 1e-10):
    """``values`` with entries below ``rtol * scale`` in magnitude set to exactly 0 (default scale: the
    largest magnitude, at least 1), so that round-off noise around a vanishing quantity (an ergotropy
    of 1e-17, say) is drawn as the zero it is instead of a speckled colour map."""
    v = np.array(values, dtype=float)
    s = max(float(np.nanmax(np.abs(v))) if v.size and np.isfinite(v).any() else 0.0, 1.0) if scale is None else scale
    v[np.abs(v) < rtol * s] = 0.0
    return v


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _label_problem(text: str, what: str) -> str | None:
    if not text.strip():
        return f"{what} has no label"
    if not _UNIT.search(text):
        return f"{what} label {text!r} gives no unit in parentheses (write '(dimensionless)' if it has none)"
    return None


def _shared_label(ax, axis: str) -> str:
    """The label of ``axis`` ("x"/"y") on ``ax`` or on any panel sharing that axis with it."""
    group = (ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()).get_siblings(ax)
    for other in [ax] + [g for g in group if g is not ax]:
        label = other.get_xlabel() if axis == "x" else other.get_ylabel()
        if label.strip():
            return label
    return ""


def figure_problems(fig, laid_out: bool = False) -> list[str]:
    """What a figure lacks (see the module docstring); an empty list when it is fit for a report.

    The figure is laid out first (its layout engine runs, tick labels are placed) but not
    rasterised, so the panel positions checked are those :meth:`~matplotlib.figure.Figure.savefig`
    draws; ``laid_out=True`` skips that step for a figure that has just been drawn (saved)."""
    if not laid_out:
        fig.draw_without_rendering()
    problems = []
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    colorbar_of = {getattr(ax._colorbar.mappable, "axes", None) for ax in axes if _is_colorbar(ax)}
    for i, ax in enumerate(axes):
        name = f"panel {i} ({ax.get_title() or 'untitled'})"
        if _is_colorbar(ax):
            cb = ax._colorbar
            label = ax.get_ylabel() if cb.orientation == "vertical" else ax.get_xlabel()
            problems.append(_label_problem(label, f"colorbar {i}"))
            continue
        if ax.xaxis.get_visible() and np.size(ax.get_xticks()):
            problems.append(_label_problem(_shared_label(ax, "x"), f"{name} x axis"))
        if ax.yaxis.get_visible() and np.size(ax.get_yticks()):
            problems.append(_label_problem(_shared_label(ax, "y"), f"{name} y axis"))
        mapped = list(ax.images) + [c for c in ax.collections if type(c).__name__ in ("QuadMesh", "PolyQuadMesh")
                                    or getattr(c, "levels", None) is not None]
        if mapped and ax not in colorbar_of:
            problems.append(f"{name} shows a colour map without its own colorbar")
    boxes = [(i, ax.get_position()) for i, ax in enumerate(axes)]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            (i, p), (j, q) = boxes[a], boxes[b]
            if np.allclose(p.bounds, q.bounds):
                continue  # twin axes share one box
            w = min(p.x1, q.x1) - max(p.x0, q.x0)
            h = min(p.y1, q.y1) - max(p.y0, q.y0)
            if w > 0 and h > 0 and w * h > 0.02 * min(p.width * p.height, q.width * q.height):
                problems.append(f"panels {i} and {j} overlap")
    return [p for p in problems if p]


def save_figure(fig, path, dpi: int = 110) -> None:
    """Lay out, check (:func:`figure_problems`) and save ``fig`` to ``path``, then close it; a figure
    with problems raises ``ValueError`` listing them (and ``path`` is not written).

    The figure is rendered once, into memory; the checks read the layout of that rendering (no
    separate layout pass) and the bytes are written to ``path`` only when they pass."""
    import io
    from pathlib import Path

    import matplotlib.pyplot as plt

    if fig.get_layout_engine() is None:
        fig.tight_layout()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, dpi=dpi, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or None)
        problems = figure_problems(fig, laid_out=True)
    finally:
        plt.close(fig)
    if problems:
        raise ValueError(f"figure {path}: " + "; ".join(problems))
    Path(path).write_bytes(buffer.getvalue())
