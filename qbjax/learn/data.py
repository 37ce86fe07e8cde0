"""Reading (and, as a fallback, writing) the four-level dataset for the learning pipeline.

Dataset contract (shared with ``qbjax sweep``): a directory ``DIR/`` with
``DIR/manifest.json`` and Parquet parts ``DIR/data/part-*.parquet`` whose columns are
:data:`qbjax.models.four_level.FEATURES` (float64) plus ``config_id`` (int64).  A single ``.parquet``
file, or a directory of parts, is accepted too.
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


def _parquet_source(path: Path):
    if path.is_file():
        return path
    if (path / "data").is_dir():
        return path / "data"
    if path.is_dir():
        return path
    raise ValueError(f"dataset not found: {path} (expected DIR/data/part-*.parquet or a .parquet file)")


def load_dataset(path, columns=REQUIRED) -> dict:
    """The dataset at ``path`` as a dict column -> float64 NumPy array (only ``columns``).

    Raises ``ValueError`` naming the missing columns, or when the dataset is empty.
    """
    import pyarrow.dataset as ds

    path = Path(path)
    source = _parquet_source(path)
    dataset = ds.dataset(str(source), format="parquet")
    names = set(dataset.schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"dataset {path} is missing column(s) {missing}; it has {sorted(names)}")
    table = dataset.to_table(columns=list(columns))
    if table.num_rows == 0:
        raise ValueError(f"dataset {path} has no rows")
    return {c: table.column(c).to_numpy().astype(np.float64, copy=False) for c in columns}


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
    layout (``out/manifest.json``, ``out/data/part-00000.parquet``).

    A small stand-in for ``qbjax sweep`` (no resume, no sharding, one part) for tests; ``filtered``
    applies the sweep's rules (:func:`qbjax.sweep.filter.filter_masks`) and records the count after
    each rule.
    """
    import time

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..models.four_level import FEATURES, four_level_features
    from ..sweep.filter import RULES, filter_masks
    from ..sweep.grid import config_ids_to_params, n_configs, table_one_axes

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
    table = pa.table({k: pa.array(v) for k, v in cols.items()})
    tmp = out / "data" / "part-00000.parquet.tmp"
    pq.write_table(table, tmp)
    tmp.replace(out / "data" / "part-00000.parquet")
    manifest = {"command": "qbjax.learn.data.write_grid_dataset", "points": points, "seed": seed,
                "conventions": conventions, "filtered": filtered, "filter_counts": counts,
                "rows": int(table.num_rows), "wall_s": round(time.perf_counter() - t0, 3)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out
