"""Filtering of a sweep dataset by the paper's rules (paper 000, Sec. III), with the count after each rule.

Rules, applied in this order (a row is kept only if it passes all of them):

1. ``finite``: every column except the quotients ``ratio`` and ``C1..C4`` is finite (parameters,
   E, E0, j1..j4, j0_1..j0_4, Q_h, Q_c, W, F, eta).  The quotients are left to rules 2 and 3,
   whose whole point is that they are undefined there (E0 = 0 gives ratio = +-inf or NaN).
2. ``E0 > 1e-12``: the coherence-free baseline has ergotropy (population inversion), so
   ratio = E / E0 is defined.
3. ``|j0_i| > 1e-12`` for i = 1..4: the baseline cumulants are nonzero, so C_i = j_i / j0_i is defined.

After rule 3 every column of a kept row is finite (checked; a violation raises ``RuntimeError``
instead of writing a NaN).  The paper reports 2,097,152 -> 2,085,878 -> 1,654,159 rows.  These rules
apply to four-level datasets (the columns of :func:`qbjax.sweep.identity.column_types`) only.

Any dataset (any columns, as listed in its identity) can instead be filtered by rules of one's own,
``filter_dataset(src, dst, where=["E0 > 1e-12 and ratio >= 1", ...])`` (``qbjax filter DIR --where
EXPR ...``): expressions over the columns, applied in order, with the same count after each rule
(:mod:`qbjax.sweep.where` has the expression language).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import lock, store
from .identity import (
    FORMAT_VERSION,
    column_types,
    columns_of,
    derived_identity,
    fingerprint,
)

__all__ = ["PAPER_COUNTS", "RULES", "THRESHOLD", "filter_dataset", "filter_masks"]

#: the threshold of rules 2 and 3
THRESHOLD = 1e-12
#: rule names in order (keys of the counts after ``"total"``)
RULES = ("finite", "E0 > 1e-12", "|j0_i| > 1e-12")
#: the paper's counts (2,097,152 configurations; after removing failed/non-finite rows; final)
PAPER_COUNTS = {"total": 2_097_152, "after non-finite/failed": 2_085_878, "final": 1_654_159}
_QUOTIENTS = ("ratio", "C1", "C2", "C3", "C4")


def filter_masks(columns: dict) -> list[np.ndarray]:
    """Cumulative keep-masks after each rule of :data:`RULES` for a dict of column arrays."""
    n = len(columns["config_id"])
    keep = np.ones(n, dtype=bool)
    for name, v in columns.items():
        if name not in _QUOTIENTS and name != "config_id":
            keep &= np.isfinite(v)
    masks = [keep.copy()]
    with np.errstate(invalid="ignore"):
        keep &= columns["E0"] > THRESHOLD
        masks.append(keep.copy())
        for i in range(1, 5):
            keep &= np.abs(columns[f"j0_{i}"]) > THRESHOLD
    masks.append(keep)
    return masks


def _paper_masks(table) -> list[np.ndarray]:
    """:func:`filter_masks` of a part read by :func:`qbjax.sweep.store.read_part`."""
    return filter_masks({c: table.column(c).to_numpy() for c in table.column_names})


def _check_finite(kept, k: int) -> None:
    """After the paper rules every column of a kept row is finite (``RuntimeError`` otherwise)."""
    for c in store.COLUMNS:
        if c != "config_id" and not np.all(np.isfinite(kept.column(c).to_numpy())):
            raise RuntimeError(f"filtered part {k} still holds a non-finite {c} (a bug in the rules)")


def _filter_parts(parts: dict, exp, dst: Path, ident: dict, names, masks_of, paper: bool, progress: bool) -> dict:
    """Check, filter and write every part (see :func:`filter_dataset`); returns the counts ``{"total": n,
    name: rows left, ...}`` for the rule ``names``.  ``masks_of(table)``: the cumulative keep-masks of a
    part; ``paper``: check that the kept rows are finite.  If a part fails, the parts written so far are
    deleted (``dst`` is left as empty as it was found)."""
    import pyarrow as pa

    counts = np.zeros(1 + len(names), dtype=np.int64)
    written = []
    try:
        for i, (k, path) in enumerate(sorted(parts.items())):
            table = store.read_part(path, k, exp)
            masks = masks_of(table)
            counts[0] += table.num_rows
            for j, m in enumerate(masks):
                counts[j + 1] += int(m.sum())
            kept = table.filter(pa.array(masks[-1]))
            if paper:
                _check_finite(kept, k)
            written.append(store.write_part(dst, k, {c: kept.column(c) for c in kept.column_names},
                                            kept.column("config_id").to_numpy(), fingerprint(ident),
                                            store.part_range(table), ident))
            if progress and (i % 8 == 7 or i == len(parts) - 1):
                print(f"[qbjax] filter: {i + 1}/{len(parts)} parts", flush=True)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    result = {"total": int(counts[0])}
    result.update({name: int(c) for name, c in zip(names, counts[1:])})
    return result


def filter_dataset(src, dst, where=None, progress: bool = False) -> dict:
    """Filter the dataset ``src`` by rules and write the kept rows to ``dst`` (same layout:
    ``dst/manifest.json``, ``dst/data/part-*.parquet``, parts named as in ``src``, every column kept).

    ``where``: None applies the paper's rules (:data:`RULES`; ``src`` must be a four-level dataset);
    else one expression string or a list of them (one rule each, applied in order; see
    :mod:`qbjax.sweep.where`), e.g. ``["E0 > 1e-12 and ratio >= 1"]``, for a dataset of any columns
    (those of its identity, ``manifest["identity"]["columns"]``).  A row is kept if it satisfies every
    rule.  The parts are processed one at a time, each read whole (its kept rows are written whole);
    a rule is evaluated on the columns it names only.

    Every part of ``src`` is checked as it is read (:func:`qbjax.sweep.store.read_part`: identity,
    chunk, config_ids, every column read); ``dst`` is locked for the run (:mod:`qbjax.sweep.lock`)
    and its parts carry the fingerprint of the filtered dataset (the source's fingerprint, the rules
    and the source's columns, :func:`qbjax.sweep.identity.derived_identity`).

    Returns the counts ``{"total": n, rule: rows left after it, ...}``: for the paper rules
    ``{"total": n, "finite": ..., "E0 > 1e-12": ..., "|j0_i| > 1e-12": ...}``, for ``where`` the rules'
    texts (white space folded) as keys; also recorded in ``dst/manifest.json`` (with :data:`PAPER_COUNTS`
    for the paper rules).  Raises ``ValueError`` (one line) if ``where`` is None and ``src`` is not a
    four-level dataset ("needs --where"), if a rule does not parse, names an unknown column (the message
    lists the dataset's columns) or is not boolean (:func:`qbjax.sweep.where.compile_rules`), if ``src``
    is not a complete dataset or holds a part that does not belong to it or does not read (the message
    names the file; ``dst`` is then left empty), or if another run holds ``dst``; :class:`store.StorageError`
    if ``dst`` exists and is not empty or is not writable.  Nothing is written to ``dst`` before the
    rules are checked.
    """
    from .._info import environment

    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    manifest, exp, parts = store.dataset_parts(src, what="src")
    columns = columns_of(manifest.get("identity"))
    if where is None:
        if columns != column_types():
            raise ValueError(f"filtering {src} needs --where: the paper rules apply to four-level datasets only "
                             f"(its columns: {', '.join(columns)})")
        names, masks_of, how = RULES, _paper_masks, {"rules": list(RULES), "threshold": THRESHOLD}
    else:
        from .where import compile_rules, rule_masks

        compiled = compile_rules(where, columns)
        names = tuple(r.text for r in compiled)
        how = {"rules": list(names)}

        def masks_of(table):
            return rule_masks(compiled, table)
    if dst.resolve() == src.resolve():
        raise ValueError("dst must differ from src")
    if not lock.vacant(dst):
        raise store.StorageError(17, f"output directory {dst} exists and is not empty; choose another --out")
    ident = derived_identity("filter", exp.fingerprint, columns=columns, **how)
    with lock.locked(dst, "filter"):
        store.check_storage(dst, sum(b - a for a, b in map(exp.bounds, parts)) if exp.n_chunks else 0)
        result = _filter_parts(parts, exp, dst, ident, names, masks_of, where is None, progress)
        params = {**manifest.get("parameters", {}), "filtered": True}
        out = {
            "command": "filter",
            "status": "complete",
            "format_version": FORMAT_VERSION,
            "fingerprint": fingerprint(ident),
            "identity": ident,
            "source": str(src),
            "source_fingerprint": exp.fingerprint,
            "source_parameters": manifest.get("parameters", {}),
            "parameters": {**params, "threshold": THRESHOLD} if where is None else params,
            "rules": list(names),
            "counts": result,
            **({"paper_counts": PAPER_COUNTS} if where is None else {}),
            "rows": result[names[-1]],
            "parts": len(parts),
            "columns": manifest.get("columns"),
            "timings_s": {"wall": round(time.perf_counter() - t0, 3)},
            "created": store.now(),
            **environment(),
        }
        store.write_json_atomic(dst / store.MANIFEST, out)
    return result
