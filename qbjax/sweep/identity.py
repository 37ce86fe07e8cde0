"""A dataset's identity: everything that determines its rows, and its fingerprint (a hash of it).

The identity of a sweep is a small dict (:func:`sweep_identity`): the dataset format version, the
grid (points, axes, number of configurations), the seed, the chunk size, the conventions and the
columns with their types.  Its fingerprint (:func:`fingerprint`) is the SHA-256 of its canonical
JSON, so equal identities give equal fingerprints on every machine and in every process.  The
manifest and every part file carry both: a part whose fingerprint is not its dataset's belongs to
another dataset.  Derived datasets (a filtered sweep, :func:`derived_identity`) have the
fingerprint of their source in their identity.
"""

from __future__ import annotations

import hashlib
import json

from ..models.four_level import FEATURES
from .grid import AXES

__all__ = ["COLUMNS", "FORMAT_VERSION", "changes", "column_types", "columns_of", "derived_identity",
           "fingerprint", "manifest_identity", "sweep_identity"]

#: version of the on-disk dataset format: 2 = part files carry their identity in the Parquet metadata
FORMAT_VERSION = 2
#: dataset columns in file order: the dataset features (float64), then config_id (int64)
COLUMNS = FEATURES + ("config_id",)


def column_types() -> dict:
    """{column: "float64" | "int64"} of the four-level Table-I dataset, in file order.

    Other datasets (:func:`qbjax.sweep`) record their own ``identity["columns"]``: a type string per
    column, ``"float64"``, ``"float32"``, ``"int64"``, ``"int32"``, ``"bool"``, or with a fixed shape
    for an array output, e.g. ``"float64[150]"`` or ``"float64[2,3]"`` (see
    :func:`qbjax.sweep.store.arrow_type`)."""
    return {c: ("int64" if c == "config_id" else "float64") for c in COLUMNS}


def sweep_identity(points: int, seed: int, conventions: str, chunk: int, n_configs: int) -> dict:
    """The identity of the sweep of ``points**7`` configurations with this seed, chunk and conventions."""
    return {"format_version": FORMAT_VERSION, "kind": "sweep", "points": int(points), "seed": int(seed),
            "conventions": str(conventions), "chunk": int(chunk), "n_configs": int(n_configs),
            "axes": list(AXES), "columns": column_types()}


def columns_of(identity) -> dict:
    """The ``{column: type}`` of the dataset with this identity, in file order: ``identity["columns"]``,
    or the four-level columns (:func:`column_types`) if the identity (or its ``"columns"``) is absent."""
    columns = identity.get("columns") if isinstance(identity, dict) else None
    return dict(columns) if isinstance(columns, dict) else column_types()


def derived_identity(kind: str, source_fingerprint: str, columns: dict | None = None, **parameters) -> dict:
    """The identity of a dataset made from another one (``kind``: e.g. "filter") by ``parameters``;
    ``columns``: its ``{column: type}`` (default the four-level columns, :func:`column_types`)."""
    return {"format_version": FORMAT_VERSION, "kind": str(kind), "source_fingerprint": source_fingerprint or "",
            **parameters, "columns": column_types() if columns is None else dict(columns)}


def fingerprint(identity: dict) -> str:
    """SHA-256 (hex) of ``identity`` as canonical JSON (sorted keys, no white space)."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def manifest_identity(manifest: dict) -> dict:
    """The identity recorded in a manifest; for a manifest written before format 2 (no identity),
    its parameters with ``format_version`` 1, so that :func:`changes` names the format."""
    if isinstance(manifest.get("identity"), dict):
        return manifest["identity"]
    params = manifest.get("parameters") or {}
    return {"format_version": 1, **{k: params[k] for k in ("points", "seed", "conventions", "chunk", "n_configs")
                                    if k in params}}


def _show(value) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"{value[:12]}..."  # a SHA-256
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def changes(dataset: dict, requested: dict, labels=("dataset", "requested")) -> list[str]:
    """``"key: dataset A, requested B"`` for every key whose value differs (format version first);
    ``labels`` names the two sides."""
    keys = list(dict.fromkeys(["format_version", *dataset, *requested]))
    return [f"{k}: {labels[0]} {_show(dataset.get(k))}, {labels[1]} {_show(requested.get(k))}"
            for k in keys if dataset.get(k) != requested.get(k)]
