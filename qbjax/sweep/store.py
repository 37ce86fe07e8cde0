"""The sweep's on-disk dataset: Parquet part files, atomic renames, manifest, resume bookkeeping.

Layout (a contract other tools rely on)::

    DIR/manifest.json              parameters, seed, versions, devices, timings, row counts
    DIR/data/part-KKKKKK.parquet   one part per chunk k (zero-padded), rows = the dataset columns
                                   (float64, :data:`qbjax.models.four_level.FEATURES`) + config_id (int64)

A part is written to ``DIR/data/.part-KKKKKK.parquet.tmp``, flushed to disk and renamed into place
(``os.replace``, atomic on POSIX), so a part file that exists is complete; a killed run leaves at
most a ``.tmp`` file, which a resumed run deletes and recomputes.  Row order inside a part is
ascending ``config_id``; :func:`read_dataset` returns the whole dataset sorted by ``config_id``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from ..models.four_level import FEATURES

__all__ = [
    "COLUMNS",
    "DATA_DIR",
    "MANIFEST",
    "StorageError",
    "check_storage",
    "existing_parts",
    "part_path",
    "read_dataset",
    "read_manifest",
    "write_json_atomic",
    "write_part",
]

#: dataset columns in file order: the dataset features (float64), then config_id (int64)
COLUMNS = FEATURES + ("config_id",)
MANIFEST = "manifest.json"
DATA_DIR = "data"
_PART = re.compile(r"^part-(\d+)\.parquet$")
#: Parquet bytes per row (35 float64/int64 columns of random values barely compress) + headroom
BYTES_PER_ROW = len(COLUMNS) * 8 + 16


class StorageError(OSError):
    """The output directory cannot hold the dataset (not writable, not enough space, not a sweep)."""


def part_path(out, k: int) -> Path:
    """``DIR/data/part-KKKKKK.parquet`` of chunk ``k``."""
    return Path(out) / DATA_DIR / f"part-{int(k):06d}.parquet"


def _tmp_path(out, k: int) -> Path:
    return Path(out) / DATA_DIR / f".part-{int(k):06d}.parquet.tmp"


def schema():
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c == "config_id" else pa.float64()) for c in COLUMNS])


def write_part(out, k: int, columns: dict, config_ids: np.ndarray) -> Path:
    """Write chunk ``k`` (``columns``: name -> float64 array, ``config_ids``: int64) atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [pa.array(np.asarray(columns[c], dtype=np.float64)) for c in FEATURES]
    arrays.append(pa.array(np.asarray(config_ids, dtype=np.int64)))
    table = pa.Table.from_arrays(arrays, schema=schema())
    tmp, final = _tmp_path(out, k), part_path(out, k)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="snappy")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageError(err.errno, f"no space left writing {final}; free space and rerun with "
                                          "--resume (finished parts are kept)") from err
        raise
    return final


def existing_parts(out, expected_rows=None) -> dict[int, Path]:
    """Complete part files of ``DIR`` as {chunk k: path}.

    ``expected_rows(k)`` (optional) gives chunk k's row count; a part whose Parquet footer
    disagrees (or cannot be read) is deleted and left out, so that it is recomputed.
    """
    import pyarrow.parquet as pq

    data = Path(out) / DATA_DIR
    found = {}
    if not data.is_dir():
        return found
    for path in sorted(data.iterdir()):
        m = _PART.match(path.name)
        if not m:
            continue
        k = int(m.group(1))
        if expected_rows is not None:
            try:
                ok = pq.read_metadata(path).num_rows == expected_rows(k)
            except Exception:  # noqa: BLE001 - unreadable footer: recompute the part
                ok = False
            if not ok:
                path.unlink(missing_ok=True)
                continue
        found[k] = path
    return found


def remove_stale_tmp(out, chunks) -> int:
    """Delete leftover ``.tmp`` files of the given chunks (a killed writer's); returns how many."""
    removed = 0
    for k in chunks:
        tmp = _tmp_path(out, k)
        if tmp.exists():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def write_json_atomic(path, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(out) -> dict | None:
    """``DIR/manifest.json`` as a dict, or None if there is none."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text())


def check_storage(out, rows_to_write: int) -> None:
    """Create ``DIR/data`` and make sure it is writable and can take ``rows_to_write`` more rows.

    Raises :class:`StorageError` with the directory and the sizes in the message (before any compute).
    """
    out = Path(out)
    data = out / DATA_DIR
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe = data / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"qbjax")
        probe.unlink()
    except OSError as err:
        raise StorageError(err.errno or errno.EACCES,
                           f"output directory {out} is not writable ({err.strerror or err}); choose another --out") from err
    need = int(rows_to_write) * BYTES_PER_ROW + (16 << 20)
    free = shutil.disk_usage(data).free
    if free < need:
        raise StorageError(errno.ENOSPC, f"not enough disk space in {out}: the sweep needs about "
                                         f"{need / 2**20:,.0f} MiB for {rows_to_write:,} rows, "
                                         f"{free / 2**20:,.0f} MiB free")


def read_dataset(path, columns=None, allow_incomplete: bool = False):
    """The dataset in ``path`` (a sweep or filtered directory) as one ``pyarrow.Table`` sorted by
    ``config_id``; ``columns`` (optional) selects columns (``config_id`` is always kept).

    Raises ``ValueError`` if ``path`` is not a dataset, or if its manifest says it is incomplete
    (an interrupted sweep; finish it with ``--resume``) unless ``allow_incomplete``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    manifest = read_manifest(path)
    if manifest is None:
        raise ValueError(f"path {path} is not a qbjax dataset (no {MANIFEST})")
    if manifest.get("status") != "complete" and not allow_incomplete:
        raise ValueError(f"path {path} holds an incomplete dataset (status {manifest.get('status')!r}); "
                         "finish it with `qbjax sweep --resume --out DIR` or pass allow_incomplete=True")
    parts = existing_parts(path)
    if columns is not None:
        columns = list(dict.fromkeys(list(columns) + ["config_id"]))
        bad = [c for c in columns if c not in COLUMNS]
        if bad:
            raise ValueError(f"columns must be dataset columns {COLUMNS}; got {bad}")
    if not parts:
        return schema().empty_table() if columns is None else schema().empty_table().select(columns)
    tables = [pq.read_table(parts[k], columns=columns) for k in sorted(parts)]
    table = pa.concat_tables(tables)
    ids = table.column("config_id").to_numpy()
    if ids.size > 1 and np.any(np.diff(ids) <= 0):
        order = np.argsort(ids, kind="stable")
        table = table.take(pa.array(order))
    return table


def now() -> str:
    """Local time stamp for manifests."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
