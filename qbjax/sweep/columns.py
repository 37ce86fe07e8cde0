"""The columns of a sweep dataset: type strings, their Arrow types and the dataset schema.

A dataset's manifest records ``identity["columns"]``: column name -> type string, in file order.  A
type string is a scalar type, ``"float64"``, ``"float32"``, ``"int64"``, ``"int32"`` or ``"bool"``,
optionally with the fixed per-row shape of an array output: ``"float64[150]"`` (a curve) or
``"float64[2,3]"``.  Arrays are stored as (nested) Arrow fixed-size lists, so pandas/polars read
them as lists and ``numpy.stack(table.column(name).to_numpy(zero_copy_only=False))`` gives the
``(rows, *shape)`` array back (:func:`column_array`).
"""

from __future__ import annotations

import re

import numpy as np

from .identity import column_types, columns_of

__all__ = ["DatasetError", "arrow_type", "bytes_per_row", "column_array", "columns_of", "parse_type",
           "schema", "to_arrow", "type_string"]


class DatasetError(ValueError):
    """A directory does not hold the dataset it should (no or foreign manifest, missing parts, in use)."""


_SCALARS = ("float64", "float32", "int64", "int32", "bool")
_TYPE = re.compile(r"^(float64|float32|int64|int32|bool)(?:\[(\d+(?:,\d+)*)\])?$")


def parse_type(text: str) -> tuple[str, tuple]:
    """``("float64", (2, 3))`` for the column type string ``"float64[2,3]"`` (ValueError if malformed)."""
    m = _TYPE.match(str(text))
    if m is None:
        raise DatasetError(f"unknown column type {text!r}; expected one of {_SCALARS}, optionally with a "
                           "shape such as float64[3]")
    return m.group(1), tuple(int(x) for x in m.group(2).split(",")) if m.group(2) else ()


def type_string(dtype, shape=()) -> str:
    """The column type string of values of ``dtype`` and per-row ``shape`` (``"float64[3]"``)."""
    name = np.dtype(dtype).name
    if name not in _SCALARS:
        raise ValueError(f"dtype {name} cannot be stored (one of {_SCALARS})")
    return name + (f"[{','.join(str(int(d)) for d in shape)}]" if len(shape) else "")


def arrow_type(text: str):
    """The pyarrow type of a column type string: a scalar type, or nested fixed-size lists for a shape."""
    import pyarrow as pa

    base, shape = parse_type(text)
    t = {"float64": pa.float64(), "float32": pa.float32(), "int64": pa.int64(), "int32": pa.int32(),
         "bool": pa.bool_()}[base]
    for d in shape[::-1]:
        t = pa.list_(t, d)
    return t


def bytes_per_row(columns: dict | None = None) -> int:
    """Parquet bytes per row of a dataset with these column types (random float64 values barely
    compress) + headroom."""
    total = 0
    for text in (columns or column_types()).values():
        base, shape = parse_type(text)
        total += (1 if base == "bool" else 4 if base.endswith("32") else 8) * int(np.prod(shape, dtype=np.int64))
    return total + 16


def schema(columns: dict | None = None):
    """The Arrow schema of a dataset with ``columns`` (name -> type string; default: the Table-I sweep)."""
    import pyarrow as pa

    return pa.schema([(c, arrow_type(t)) for c, t in (columns or column_types()).items()])


def to_arrow(values, text: str):
    """One column's values as an Arrow array of type ``text``: a NumPy-like array of shape
    ``(rows, *shape)``, or an Arrow array / chunked array (cast to the type)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(arrow_type(text))
    base, shape = parse_type(text)
    flat = np.ascontiguousarray(np.asarray(values, dtype=base)).reshape(-1)
    arr = pa.array(flat)
    for d in shape[::-1]:
        arr = pa.FixedSizeListArray.from_arrays(arr, d)
    return arr


def column_array(table, name: str) -> np.ndarray:
    """Column ``name`` of a dataset table as a NumPy array of shape ``(rows, *shape)``."""
    col = table.column(name).combine_chunks()
    shape = []
    while hasattr(col.type, "list_size"):
        shape.append(col.type.list_size)
        col = col.flatten()
    return col.to_numpy(zero_copy_only=False).reshape((table.num_rows, *shape))
