"""The sweep's on-disk dataset: Parquet part files, atomic renames, manifest, part verification.

Layout (a contract other tools rely on)::

    DIR/manifest.json              identity + fingerprint, parameters, versions, devices, timings, rows
    DIR/data/part-KKKKKK.parquet   one part per chunk k (zero-padded), rows = the dataset columns:
                                   those of the manifest's ``identity["columns"]``, in that order (the
                                   Table-I sweep: the float64 :data:`qbjax.models.four_level.FEATURES`
                                   + config_id (int64); a :func:`qbjax.sweep` dataset: config_id, the
                                   parameters, the outputs; array outputs as fixed-size list columns)
    DIR/.qbjax.lock                the lock of the run writing DIR (:mod:`qbjax.sweep.lock`)

Every part carries its dataset's identity in its Parquet key-value metadata (:func:`part_metadata`):
the fingerprint of :mod:`qbjax.sweep.identity`, the chunk index ``k`` and the config_id range
``[start, stop)``; its pages carry CRC checksums.  A part is trusted only after :func:`read_part`
checked that metadata against the manifest and read the columns (checksums verified), and found the
config_ids to be exactly ``start, ..., stop - 1`` (a filtered dataset: an increasing subset).

A part is written to a temporary file unique to the writer (``.part-KKKKKK.parquet.<pid>-<uuid>.tmp``),
flushed to disk and renamed into place (``os.replace``, atomic on POSIX), so a part file that exists
is complete; a killed run leaves at most a temporary file, which a resumed run deletes.  Row order
inside a part is ascending ``config_id``; :func:`read_dataset` returns the dataset sorted by it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .columns import (
    DatasetError,
    arrow_type,
    bytes_per_row,
    columns_of,
    schema,
    to_arrow,
)
from .identity import COLUMNS, FORMAT_VERSION, changes

__all__ = [
    "COLUMNS",
    "DATA_DIR",
    "MANIFEST",
    "DatasetError",
    "Expected",
    "PartError",
    "StorageError",
    "arrow_type",
    "bytes_per_row",
    "check_storage",
    "dataset_parts",
    "expected_of",
    "list_parts",
    "part_path",
    "part_range",
    "read_dataset",
    "read_manifest",
    "read_part",
    "write_json_atomic",
    "write_part",
]

MANIFEST = "manifest.json"
DATA_DIR = "data"
_PART = re.compile(r"^part-(\d+)\.parquet$")
#: Parquet bytes per row of the Table-I sweep (35 float64/int64 columns barely compress) + headroom
BYTES_PER_ROW = len(COLUMNS) * 8 + 16
#: keys of a part's Parquet key-value metadata
META_FORMAT, META_FINGERPRINT, META_IDENTITY = "qbjax.format_version", "qbjax.fingerprint", "qbjax.identity"
META_CHUNK, META_START, META_STOP = "qbjax.chunk", "qbjax.config_id_start", "qbjax.config_id_stop"


class StorageError(OSError):
    """The output directory cannot hold the dataset (not writable, not enough space, not a sweep)."""




class PartError(DatasetError):
    """A part file that does not belong to its dataset or does not read; the message names the file."""


def unwritable(out, err: OSError) -> StorageError:
    """The :class:`StorageError` for an output directory that cannot be created or written."""
    return StorageError(err.errno or errno.EACCES,
                        f"output directory {out} is not writable ({err.strerror or err}); choose another --out")


def one_line(err) -> str:
    """An exception's message on one line."""
    return " ".join(str(err).split()) or type(err).__name__


def part_path(out, k: int) -> Path:
    """``DIR/data/part-KKKKKK.parquet`` of chunk ``k``."""
    return Path(out) / DATA_DIR / f"part-{int(k):06d}.parquet"


def unique_tmp(path) -> Path:
    """A temporary name next to ``path`` that no other process or thread uses (pid + random uuid)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def part_metadata(k: int, id_range, fingerprint: str = "", identity: dict | None = None) -> dict:
    """The Parquet key-value metadata of chunk ``k``'s part: format, fingerprint, identity, chunk, range."""
    return {META_FORMAT: str(FORMAT_VERSION), META_FINGERPRINT: fingerprint or "",
            META_IDENTITY: json.dumps(identity, sort_keys=True, default=str) if identity else "",
            META_CHUNK: str(int(k)), META_START: str(int(id_range[0])), META_STOP: str(int(id_range[1]))}


def write_part(out, k: int, columns: dict, config_ids: np.ndarray, fingerprint: str = "", id_range=None,
               identity: dict | None = None) -> Path:
    """Write chunk ``k`` (``columns``: name -> array of ``(rows, *shape)``, ``config_ids``: int64)
    atomically, with the columns and types of ``identity["columns"]`` (default: the Table-I sweep's).

    ``fingerprint``/``identity``: the dataset's (:mod:`qbjax.sweep.identity`); ``id_range``: the chunk's
    config_id range ``(start, stop)`` (default: that of ``config_ids``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = np.asarray(config_ids, dtype=np.int64)
    if id_range is None:
        id_range = (int(ids[0]), int(ids[-1]) + 1) if ids.size else (0, 0)
    types = columns_of(identity)
    arrays = [pa.array(ids) if c == "config_id" else to_arrow(columns[c], t) for c, t in types.items()]
    meta = part_metadata(k, id_range, fingerprint, identity)
    table = pa.Table.from_arrays(arrays, schema=schema(types).with_metadata(meta))
    final = part_path(out, k)
    tmp = unique_tmp(final)
    try:
        with open(tmp, "xb") as fh:
            pq.write_table(table, fh, compression="snappy", write_page_checksum=True,
                           use_dictionary=dictionary_columns(types, identity))
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


def dictionary_columns(types: dict, identity: dict | None) -> list[str]:
    """The columns Parquet stores dictionary-encoded: the parameters, which repeat (a grid axis has
    few values).  Outputs are continuous values that a dictionary cannot shorten; encoding them costs
    most of a part's write time (measured in ``benchmarks/sweep_engine.py``)."""
    from ..models.four_level import PARAMETERS

    ident = identity or {}
    names = (list(ident.get("grid_names", [])) + list(ident.get("fixed", {}))) if "grid_names" in ident \
        else list(PARAMETERS)
    return [c for c in names if c in types and "[" not in types[c]]


@dataclass(frozen=True)
class Expected:
    """What every part of one dataset must be: its fingerprint (and identity, for messages), and, when
    known, the chunk size and number of configurations that fix each chunk's config_id range.
    ``exact``: the part holds every id of its range (a sweep), else an increasing subset (filtered)."""

    fingerprint: str = ""
    identity: dict | None = None
    chunk: int | None = None
    n_configs: int | None = None
    exact: bool = True

    @property
    def columns(self) -> dict:
        """Column types of the dataset (name -> type string, file order)."""
        return columns_of(self.identity)

    @property
    def n_chunks(self) -> int | None:
        return None if self.chunk is None or self.n_configs is None else -(-self.n_configs // self.chunk)

    def bounds(self, k: int):
        """Chunk ``k``'s config_id range ``(start, stop)``, or None when the manifest does not fix it."""
        if self.n_chunks is None:
            return None
        start = int(k) * self.chunk
        return start, min(start + self.chunk, self.n_configs)


def _int_or_none(value):
    return None if isinstance(value, bool) or not isinstance(value, (int, np.integer)) else int(value)


def expected_of(manifest: dict) -> Expected:
    """The :class:`Expected` parts of the dataset described by ``manifest``."""
    params = manifest.get("parameters") or {}
    return Expected(fingerprint=manifest.get("fingerprint") or "", identity=manifest.get("identity"),
                    chunk=_int_or_none(params.get("chunk")), n_configs=_int_or_none(params.get("n_configs")),
                    exact=not params.get("filtered"))


def _decode(meta) -> dict:
    return {k.decode(): v.decode() for k, v in (meta or {}).items() if k.startswith(b"qbjax.")}


def _foreign(meta: dict, exp: Expected) -> str:
    """How a part's identity differs from its dataset's (or both fingerprints if either is unknown)."""
    try:
        theirs = json.loads(meta.get(META_IDENTITY) or "null")
    except ValueError:
        theirs = None
    if isinstance(theirs, dict) and isinstance(exp.identity, dict):
        diff = changes(exp.identity, theirs, ("dataset", "part"))
        if diff:
            return "; ".join(diff)
    return f"fingerprint {meta.get(META_FINGERPRINT)[:12] or '(none)'}, the dataset's {exp.fingerprint[:12] or '(none)'}"


def metadata_problem(meta: dict, k: int, exp: Expected) -> str | None:
    """What is wrong with a part's qbjax metadata ``meta`` as chunk ``k`` of ``exp`` (None: nothing).

    Checks the format version, the fingerprint, the chunk index and the config_id range."""
    if META_FINGERPRINT not in meta:
        return "no qbjax metadata (written before dataset format 2, or not by qbjax)"
    if meta.get(META_FORMAT) != str(FORMAT_VERSION):
        return f"dataset format {meta.get(META_FORMAT)}, expected {FORMAT_VERSION}"
    if meta[META_FINGERPRINT] != exp.fingerprint:
        return f"belongs to another dataset ({_foreign(meta, exp)})"
    try:
        chunk, start, stop = (int(meta[key]) for key in (META_CHUNK, META_START, META_STOP))
    except (KeyError, ValueError):
        return "unreadable qbjax chunk metadata"
    if chunk != k:
        return f"holds chunk {chunk} (config_ids {start}..{stop - 1}), not chunk {k}: a copied or renamed part"
    want = exp.bounds(k)
    if want is not None and (start, stop) != want:
        return f"records config_ids {start}..{stop - 1}, chunk {k} is {want[0]}..{want[1] - 1}"
    return None


def recorded_range(meta: dict) -> tuple[int, int]:
    """The ``(start, stop)`` config_id range recorded in a part's (checked) metadata."""
    return int(meta[META_START]), int(meta[META_STOP])


def part_range(table) -> tuple[int, int]:
    """The ``(start, stop)`` config_id range of a table returned by :func:`read_part`."""
    return recorded_range(_decode(table.schema.metadata))


def ids_problem(ids: np.ndarray, start: int, stop: int, exact: bool) -> str | None:
    """What is wrong with a part's config_ids for the range ``[start, stop)`` (None: nothing).
    ``exact``: they must be exactly ``start, ..., stop - 1``; else an increasing subset of them."""
    ids = np.asarray(ids)
    if exact:
        if ids.size == stop - start and np.array_equal(ids, np.arange(start, stop)):
            return None
        inside = np.unique(ids[(ids >= start) & (ids < stop)])
        return (f"config_ids are not exactly {start}..{stop - 1}: {ids.size} rows, "
                f"{ids.size - np.unique(ids).size} duplicated, {stop - start - inside.size} missing, "
                f"{int(np.sum((ids < start) | (ids >= stop)))} outside")
    if ids.size == 0 or (ids[0] >= start and ids[-1] < stop and np.all(np.diff(ids) > 0)):
        return None
    return f"config_ids are not an increasing subset of {start}..{stop - 1}"


def read_part(path, k: int, exp: Expected, columns=None, full: bool = True):
    """Chunk ``k``'s part file ``path`` as a ``pyarrow.Table`` (``columns``: default all), after checking
    its metadata (:func:`metadata_problem`) and columns against ``exp``; ``full``: also read the columns
    (page checksums verified) and check the config_ids (:func:`ids_problem`), else check the row count
    in the footer only and return None.  Raises :class:`PartError` naming the file and the problem.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
    except Exception as err:  # noqa: BLE001 - whatever pyarrow raises, the footer does not read
        raise PartError(f"part {path}: unreadable Parquet footer ({one_line(err)})") from None
    with pf:
        meta = _decode(pf.schema_arrow.metadata)
        problem = metadata_problem(meta, k, exp)
        if problem is None and not pf.schema_arrow.equals(schema(exp.columns)):
            problem = f"columns {pf.schema_arrow.names} are not the dataset columns"
        if problem is None and not full:
            start, stop = recorded_range(meta)
            rows = pf.metadata.num_rows
            if (rows != stop - start) if exp.exact else (rows > stop - start):
                problem = f"{rows} rows for config_ids {start}..{stop - 1}"
        if problem is not None:
            raise PartError(f"part {path}: {problem}")
        if not full:
            return None
        try:
            table = pf.read(columns=None if columns is None else list(dict.fromkeys([*columns, "config_id"])))
        except Exception as err:  # noqa: BLE001 - a corrupt page: pyarrow raises OSError or ArrowInvalid
            raise PartError(f"part {path}: unreadable data ({one_line(err)})") from None
    problem = ids_problem(table.column("config_id").to_numpy(), *recorded_range(meta), exp.exact)
    if problem is not None:
        raise PartError(f"part {path}: {problem}")
    return table


def list_parts(out) -> tuple[dict[int, Path], list[Path]]:
    """``({chunk k: path}, others)``: the part files of ``DIR/data`` named ``part-KKKKKK.parquet`` and
    the other ``part-*.parquet`` names (not written by qbjax: e.g. ``part-5.parquet``)."""
    data = Path(out) / DATA_DIR
    parts, others = {}, []
    if not data.is_dir():
        return parts, others
    for path in sorted(data.iterdir()):
        m = _PART.match(path.name)
        if m and path.name == part_path(out, int(m.group(1))).name:
            parts[int(m.group(1))] = path
        elif path.name.startswith("part-") and path.name.endswith(".parquet"):
            others.append(path)
    return parts, others


def sort_parts(out, chunks, exp: Expected) -> tuple[dict[int, Path], dict[int, tuple[Path, str]]]:
    """The existing parts of ``chunks`` fully checked (:func:`read_part`): ``(good {k: path},
    bad {k: (path, message)})``."""
    parts, _ = list_parts(out)
    good, bad = {}, {}
    for k in chunks:
        if k in parts:
            try:
                read_part(parts[k], k, exp)
                good[k] = parts[k]
            except PartError as err:
                bad[k] = (parts[k], str(err))
    return good, bad


def stray_parts(out, exp: Expected) -> list[tuple[Path, str]]:
    """Part files of ``DIR`` that no chunk of ``exp`` can own: ``[(path, why)]``."""
    parts, others = list_parts(out)
    stray = [(p, "not a part file name of qbjax (part-KKKKKK.parquet)") for p in others]
    n = exp.n_chunks
    if n is not None:
        stray += [(p, f"chunk {k} is beyond the dataset's {n} chunks") for k, p in parts.items() if k >= n]
    return stray


def remove_stale_tmp(out, chunks) -> int:
    """Delete leftover temporary files of the given chunks (a killed writer's); returns how many."""
    removed = 0
    for k in chunks:
        final = part_path(out, k)
        for tmp in final.parent.glob(f".{final.name}.*tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def write_json_atomic(path, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` via a temporary file of this writer and ``os.replace``."""
    path = Path(path)
    tmp = unique_tmp(path)
    try:
        with open(tmp, "x") as fh:
            fh.write(json.dumps(data, indent=2, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_manifest(out) -> dict | None:
    """``DIR/manifest.json`` as a dict, or None if there is none; :class:`DatasetError` if it is not
    a JSON object."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except ValueError as err:
        raise DatasetError(f"manifest {path} is not valid JSON ({one_line(err)})") from None
    if not isinstance(manifest, dict):
        raise DatasetError(f"manifest {path} is not a JSON object")
    return manifest


def check_storage(out, rows_to_write: int, row_bytes: int = BYTES_PER_ROW) -> None:
    """Create ``DIR/data`` and make sure it is writable and can take ``rows_to_write`` more rows of
    ``row_bytes`` bytes each (default: the Table-I sweep's, :func:`bytes_per_row`).

    Raises :class:`StorageError` with the directory and the sizes in the message (before any compute).
    """
    out = Path(out)
    data = out / DATA_DIR
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe = unique_tmp(data / "write-probe")
        probe.write_bytes(b"qbjax")
        probe.unlink()
    except OSError as err:
        raise unwritable(out, err) from err
    need = int(rows_to_write) * int(row_bytes) + (16 << 20)
    free = shutil.disk_usage(data).free
    if free < need:
        raise StorageError(errno.ENOSPC, f"not enough disk space in {out}: the sweep needs about "
                                         f"{need / 2**20:,.0f} MiB for {rows_to_write:,} rows, "
                                         f"{free / 2**20:,.0f} MiB free")


def dataset_parts(path, allow_incomplete: bool = False, what: str = "path") -> tuple[dict, Expected, dict]:
    """``(manifest, expected, {k: part path})`` of the dataset in ``path``, before reading any part.

    Raises :class:`DatasetError` if ``path`` has no manifest, if the manifest is not "complete"
    (unless ``allow_incomplete``), if a part file has a foreign name or a chunk index beyond the
    dataset, or if a chunk's part is missing (unless ``allow_incomplete``).
    """
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is None:
        raise DatasetError(f"{what} {path} is not a qbjax dataset (no {MANIFEST})")
    if manifest.get("status") != "complete" and not allow_incomplete:
        raise DatasetError(f"{what} {path} holds an incomplete dataset (manifest status {manifest.get('status')!r}); "
                           "finish it with `qbjax sweep --resume --out DIR`")
    exp = expected_of(manifest)
    stray = stray_parts(path, exp)
    if stray:
        raise PartError(f"part {stray[0][0]}: {stray[0][1]}")
    parts, _ = list_parts(path)
    missing = [k for k in range(exp.n_chunks or 0) if k not in parts]
    if missing and not allow_incomplete:
        raise DatasetError(f"{what} {path} lacks {len(missing)} of its {exp.n_chunks} part files "
                           f"(first: {part_path(path, missing[0])}); recompute them with `qbjax sweep --resume`")
    return manifest, exp, parts


def read_dataset(path, columns=None, allow_incomplete: bool = False):
    """The dataset in ``path`` (a sweep or filtered directory) as one ``pyarrow.Table`` sorted by
    ``config_id``; ``columns`` (optional) selects columns (``config_id`` is always kept).

    Every part is checked (:func:`dataset_parts`, :func:`read_part`: identity, chunk, config_ids, the
    selected columns read) and the parts' config_id ranges must not overlap.  Raises ``ValueError``
    (:class:`DatasetError`, :class:`PartError` naming the file) if ``path`` is not a dataset, is
    incomplete (an interrupted sweep; finish it with ``--resume``) unless ``allow_incomplete``, or
    holds a part that does not belong to it or does not read.
    """
    import pyarrow as pa

    _, exp, parts = dataset_parts(path, allow_incomplete)
    if columns is not None:
        columns = list(dict.fromkeys(list(columns) + ["config_id"]))
        bad = [c for c in columns if c not in exp.columns]
        if bad:
            raise ValueError(f"columns must be dataset columns {tuple(exp.columns)}; got {bad}")
    if not parts:
        empty = schema(exp.columns).empty_table()
        return empty if columns is None else empty.select(columns)
    tables, prev = [], None
    for k in sorted(parts):
        table = read_part(parts[k], k, exp, columns)
        start, stop = part_range(table)
        if prev is not None and start < prev[1]:
            raise PartError(f"part {parts[k]}: config_ids {start}..{stop - 1} overlap those of {prev[0]}")
        prev = (parts[k], stop)
        tables.append(table.replace_schema_metadata(None))
    table = pa.concat_tables(tables)
    ids = table.column("config_id").to_numpy()
    if ids.size > 1 and np.any(np.diff(ids) <= 0):
        order = np.argsort(ids, kind="stable")
        table = table.take(pa.array(order))
    return table


def now() -> str:
    """Local time stamp for manifests."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
