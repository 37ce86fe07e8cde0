"""The four-level design's comparison grid: the best configuration of the seeded Table-I grid.

The grid is the sweep's (:func:`qbjax.sweep.grid.table_one_axes`, ``config_id`` = flat C-order index)
filtered by the sweep's own rules (:func:`qbjax.sweep.filter.filter_masks`: every column finite,
E0 > 1e-12, |j0_i| > 1e-12), evaluated here in chunks or read from a ``qbjax sweep`` dataset.  The best
point is reported under these rules and under these rules plus the optimiser's constraint (the
like-for-like comparison with :func:`qbjax.optimize.four_level.optimize_four_level`).
"""

from __future__ import annotations

import time

import numpy as np

from ..models.four_level import CONVENTIONS, FEATURES, four_level_features
from ..sweep.filter import filter_masks
from ..sweep.grid import config_ids_to_params, n_configs, table_one_axes
from ..sweep.store import read_dataset
from .four_level import E0_MIN, J0_MIN, OBJECTIVES, _describe, params_to_box

__all__ = ["grid_best"]


def _grid_objectives(f: dict, ids, e0_min: float, j0_min: float) -> dict:
    """Per objective: (values, sweep-filter mask, constrained mask) for one chunk of features."""
    ok = filter_masks({**f, "config_id": ids})[-1]
    return {
        "ratio": (f["ratio"], ok, ok & (f["E0"] >= e0_min)),
        "ergotropy": (f["E"], ok, ok),
        "C4": (f["C4"], ok, ok & (np.abs(f["j0_4"]) >= j0_min) & (f["E0"] >= e0_min)),
    }


def _empty_best():
    return {"value": -np.inf, "config_id": None}


def grid_best(points: int = 8, grid_seed: int = 0, conventions: str = "physical", e0_min: float = E0_MIN,
              j0_min: float = J0_MIN, chunk: int = 2**16, dataset=None, progress=print) -> dict:
    """Best configuration of the seeded Table-I grid for every objective (one pass over the grid).

    The grid is evaluated with :func:`four_level_features` in chunks of ``chunk`` configurations
    (or read from a ``qbjax sweep`` dataset directory ``dataset``).  Returns {objective: {"filtered": best under the sweep filter, "constrained": best under
    the filter and the optimiser's constraint}, "n_total", "n_kept", "wall_s"}; each best is
    {value, config_id, x, params, ...}.
    """
    if conventions not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {CONVENTIONS}; got conventions = {conventions!r}")
    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    axes = table_one_axes(points, grid_seed)
    total = n_configs(points)
    best = {o: {"filtered": _empty_best(), "constrained": _empty_best()} for o in OBJECTIVES}
    n_kept = 0

    def consume(ids, f):
        nonlocal n_kept
        objs = _grid_objectives(f, ids, e0_min, j0_min)
        for o, (v, ok, okc) in objs.items():
            for kind, m in (("filtered", ok), ("constrained", okc)):
                if m.any():
                    i = int(np.argmax(np.where(m, v, -np.inf)))
                    if v[i] > best[o][kind]["value"]:
                        best[o][kind] = {"value": float(v[i]), "config_id": int(ids[i])}
        n_kept += int(objs["ratio"][1].sum())

    if dataset is not None:
        f, ids = _read_dataset(dataset)
        if len(ids) != total:
            say(f"[inverse-design] warning: dataset has {len(ids)} rows, the grid {total}")
        consume(ids, f)
    else:
        chunk = min(int(chunk), total)
        n_chunks = -(-total // chunk)
        for c in range(n_chunks):
            ids = np.arange(c * chunk, min((c + 1) * chunk, total))
            pad = np.concatenate([ids, np.zeros(chunk - len(ids), dtype=ids.dtype)]) if len(ids) < chunk else ids
            f = four_level_features(config_ids_to_params(axes, pad), conventions, validate=False)
            f = {k: np.asarray(v)[: len(ids)] for k, v in f.items()}
            consume(ids, f)
            if progress and (c + 1 == n_chunks or (c + 1) % max(1, n_chunks // 8) == 0):
                say(f"[inverse-design] grid {points}^7 ({conventions}): {min((c + 1) * chunk, total)}/{total} "
                    f"configurations, {time.perf_counter() - t0:.1f} s")
    for o in OBJECTIVES:
        for kind in ("filtered", "constrained"):
            b = best[o][kind]
            if b["config_id"] is None:
                b["value"] = None
                continue
            p = config_ids_to_params(axes, np.array([b["config_id"]]))
            x = params_to_box({k: v[0] for k, v in p.items()})
            b.update({"x": x.tolist(), **_describe(x, conventions)})
    return {**best, "n_total": total, "n_kept": n_kept, "points": points, "grid_seed": grid_seed,
            "conventions": conventions, "source": str(dataset) if dataset else "computed",
            "wall_s": time.perf_counter() - t0}


def _read_dataset(path):
    """(features dict, config_ids) from a ``qbjax sweep`` dataset directory."""
    data = read_dataset(path)
    if hasattr(data, "to_pandas"):
        data = data.to_pandas()
    cols = list(data.keys()) if hasattr(data, "keys") else list(data.columns)
    missing = [k for k in FEATURES + ("config_id",) if k not in cols]
    if missing:
        raise ValueError(f"dataset {path} lacks columns {missing}")
    f = {k: np.asarray(data[k], dtype=np.float64) for k in FEATURES}
    return f, np.asarray(data["config_id"], dtype=np.int64)
