"""The seeded Table-I grid of the four-level battery (paper 000, Table I).

Seven axes, ``points`` values each (the paper: 8):

    T_c, T_h, T_l ~ U[0.1, 7],  p_c, p_h ~ U[0.1, 1],  tau ~ U[0.01, 2],
    energy triplet (eps, eps_b, eps_a): eps ~ U[0.01, 2], eps_b = eps + d1, eps_a = eps_b + d2,
    d1, d2 ~ U[0.01, 2]

so ``points**7`` configurations (8^7 = 2,097,152).  The values are drawn with
``numpy.random.default_rng(seed)`` in the order of :data:`AXES` (each scalar axis sorted ascending,
the triplets sorted by eps), so a seed fixes the grid on every machine.  ``config_id`` is the flat
C-order index over :data:`AXES`: the last axis (the energy triplet) varies fastest.
"""

from __future__ import annotations

import numpy as np

from ..models.four_level import TABLE_ONE_RANGES as RANGES

__all__ = ["AXES", "RANGES", "config_ids_to_params", "n_configs", "table_one_axes"]

#: grid axes in ``config_id`` order (C order: the last varies fastest)
AXES = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "triplet")


def n_configs(points: int = 8) -> int:
    """Number of grid configurations, ``points**7``."""
    return int(points) ** len(AXES)


def table_one_axes(points: int = 8, seed: int = 0) -> dict:
    """The grid's axis values: six ``(points,)`` arrays and ``triplet`` of shape ``(points, 3)``
    with columns (eps, eps_b, eps_a)."""
    points = int(points)
    if points < 1:
        raise ValueError(f"points must be >= 1; got points = {points}")
    rng = np.random.default_rng(seed)
    axes = {}
    for name in AXES[:-1]:
        lo, hi = RANGES[name]
        axes[name] = np.sort(rng.uniform(lo, hi, points))
    eps = rng.uniform(*RANGES["eps"], points)
    d1 = rng.uniform(*RANGES["d1"], points)
    d2 = rng.uniform(*RANGES["d2"], points)
    order = np.argsort(eps, kind="stable")
    eps, d1, d2 = eps[order], d1[order], d2[order]
    axes["triplet"] = np.stack([eps, eps + d1, eps + d1 + d2], axis=1)
    return axes


def config_ids_to_params(axes: dict, config_ids, xp=np) -> dict:
    """The nine parameters of the configurations ``config_ids`` (flat C-order grid indices).

    ``xp`` is ``numpy`` (default) or ``jax.numpy`` (then usable inside ``jit``, with the axes as
    arrays).  Returns a dict with keys T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a.
    """
    points = axes["T_c"].shape[0]
    ids = xp.asarray(config_ids)
    idx = []
    rest = ids
    for _ in AXES:
        idx.append(rest % points)
        rest = rest // points
    idx = idx[::-1]  # C order: the first axis is the slowest
    params = {name: xp.asarray(axes[name])[i] for name, i in zip(AXES[:-1], idx[:-1])}
    trip = xp.asarray(axes["triplet"])[idx[-1]]
    params["eps"], params["eps_b"], params["eps_a"] = trip[..., 0], trip[..., 1], trip[..., 2]
    return params
