"""Reading (and, as a fallback, writing) the four-level dataset for the learning pipeline.

Dataset contract (shared with ``qbjax sweep``): a directory ``DIR/`` with
``DIR/manifest.json`` and Parquet parts ``DIR/data/part-*.parquet`` whose columns are
:data:`qbjax.models.four_level.FEATURES` (float64) plus ``config_id`` (int64).  Such a dataset is
learned only if its manifest says "complete" and every part passes the checks of
:func:`qbjax.sweep.store.read_dataset` (identity, chunk, config_ids, the columns read).  A single
``.parquet`` file, or a directory of parts without a manifest, is accepted too (as it is: there is
no identity to check it against).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["REQUIRED", "dataset_info", "load_dataset", "write_grid_dataset"]

#: columns the learning pipeline reads (every feature of every mapping, the ratio, the group keys)
REQUIRED = (
    "T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "eps_b", "eps_a",
    "ratio", "C1", "C2", "C3", "C4", "Q_h", "Q_c", "W", "F", "eta",
)  # fmt: skip


def _dataset_root(path: Path) -> Path | None:
    """The dataset directory holding ``manifest.json`` (``path`` or, for ``DIR/data``, its parent)."""
    for cand in (path, path.parent if path.name == "data" else None):
        if cand is not None and path.is_dir() and (cand / "manifest.json").is_file():
            return cand
    return None


def _parquet_source(path: Path):
    if path.is_file():
        return path
    if (path / "data").is_dir():
        return path / "data"
    if path.is_dir():
        return path
    raise ValueError(f"dataset not found: {path} (expected DIR/data/part-*.parquet or a .parquet file)")


def _read_checked(root: Path, columns) -> dict:
    """The columns of the dataset in ``root`` after every check of :func:`qbjax.sweep.store.read_dataset`;
    refuses a dataset whose manifest is not "complete" (a sweep still running or interrupted)."""
    from ..sweep.store import COLUMNS, read_dataset, read_manifest

    status = read_manifest(root).get("status")
    if status != "complete":
        raise ValueError(f"dataset {root} is not complete (manifest status {status!r}: a sweep still running "
                         "or interrupted); finish it with `qbjax sweep --resume --out DIR` before learning")
    missing = [c for c in columns if c not in COLUMNS]
    if missing:
        raise ValueError(f"dataset {root} is missing column(s) {missing}; it has {sorted(COLUMNS)}")
    table = read_dataset(root, columns=list(columns))
    return {c: table.column(c) for c in columns}


def _read_loose(path: Path, columns) -> dict:
    """The columns of a ``.parquet`` file or a directory of parts without a manifest."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(_parquet_source(path)), format="parquet")
    names = set(dataset.schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"dataset {path} is missing column(s) {missing}; it has {sorted(names)}")
    table = dataset.to_table(columns=list(columns))
    return {c: table.column(c) for c in columns}


def load_dataset(path, columns=REQUIRED) -> dict:
    """The dataset at ``path`` as a dict column -> float64 NumPy array (only ``columns``).

    A dataset directory (with ``manifest.json``) must be complete and its parts must pass every check
    of :func:`qbjax.sweep.store.read_dataset`.  Raises ``ValueError`` naming the missing columns, an
    incomplete dataset, a part that does not belong to the dataset or does not read, or when the
    dataset is empty.
    """
    path = Path(path)
    root = _dataset_root(path)
    cols = _read_checked(root, columns) if root is not None else _read_loose(path, columns)
    if not cols or len(next(iter(cols.values()))) == 0:
        raise ValueError(f"dataset {path} has no rows")
    return {c: v.to_numpy().astype(np.float64, copy=False) for c, v in cols.items()}


def dataset_info(path) -> dict:
    """The dataset's ``manifest.json`` (an empty dict when there is none)."""
    path = Path(path)
    for cand in (path / "manifest.json", path.parent / "manifest.json"):
        if cand.is_file():
            try:
                return json.loads(cand.read_text())
            except json.JSONDecodeError:
                return {}
    return {}


def write_grid_dataset(out, points: int = 5, seed: int = 0, conventions: str = "physical",
                       filtered: bool = True, chunk: int = 65536) -> Path:
    """Compute the seeded Table-I grid with :func:`four_level_features` and write it in the dataset
    layout (``out/manifest.json``, ``out/data/part-000000.parquet``, one part holding every config_id
    of the grid, or the filtered ones, with the dataset's fingerprint in its metadata).

    A small stand-in for ``qbjax sweep`` (no resume, no sharding, one part) for tests; ``filtered``
    applies the sweep's rules (:func:`qbjax.sweep.filter.filter_masks`) and records the count after
    each rule.
    """
    import time

    from ..models.four_level import FEATURES, four_level_features
    from ..sweep import store
    from ..sweep.filter import RULES, filter_masks
    from ..sweep.grid import config_ids_to_params, n_configs, table_one_axes
    from ..sweep.identity import derived_identity, fingerprint

    t0 = time.perf_counter()
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    axes = table_one_axes(points, seed)
    total = n_configs(points)
    parts = []
    for s in range(0, total, chunk):
        ids = np.arange(s, min(s + chunk, total), dtype=np.int64)
        pad = chunk - ids.size if total > chunk else 0  # one compiled shape for every chunk
        ids_p = np.concatenate([ids, np.full(pad, ids[0], np.int64)]) if pad else ids
        feats = four_level_features(config_ids_to_params(axes, ids_p), conventions=conventions)
        cols = {k: np.asarray(feats[k], np.float64)[: ids.size] for k in FEATURES}
        cols["config_id"] = ids
        parts.append(cols)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    counts = None
    if filtered:
        masks = filter_masks(cols)
        counts = {"total": int(total)} | {rule: int(m.sum()) for rule, m in zip(RULES, masks)}
        cols = {k: v[masks[-1]] for k, v in cols.items()}
    ident = derived_identity("learn.write_grid_dataset", "", points=int(points), seed=int(seed),
                             conventions=conventions, filtered=bool(filtered), chunk=int(chunk))
    store.write_part(out, 0, cols, cols["config_id"], fingerprint(ident), (0, total), ident)
    manifest = {"command": "qbjax.learn.data.write_grid_dataset", "status": "complete",
                "format_version": ident["format_version"], "fingerprint": fingerprint(ident), "identity": ident,
                "parameters": {"points": points, "seed": seed, "conventions": conventions, "chunk": total,
                               "n_configs": total, "n_chunks": 1, "filtered": bool(filtered)},
                "points": points, "seed": seed, "conventions": conventions, "filtered": filtered,
                "filter_counts": counts, "rows": int(cols["config_id"].size),
                "wall_s": round(time.perf_counter() - t0, 3)}
    store.write_json_atomic(out / store.MANIFEST, manifest)
    return out
