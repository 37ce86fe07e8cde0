"""What every sweep grid is: a length, a stable ``config_id -> parameters`` map, fixed parameters and
a fingerprint.

A grid holds ``len(grid)`` configurations numbered by ``config_id = 0 .. len(grid) - 1``.  Its
*varying* parameters (:attr:`Grid.names`) take a value per configuration; its *fixed* parameters
(:attr:`Grid.fixed`) are plain Python values shared by every configuration (dimensions, truncations,
switches).  :meth:`Grid.lookup` maps config ids to parameter values with NumPy or inside ``jax.jit``
(the sweep engine ships :meth:`Grid.data` to each device once and looks the values up there), so a
configuration's parameters never depend on how the grid is cut into chunks or devices.
:meth:`Grid.identity` (JSON) and :attr:`Grid.fingerprint` (its SHA-256) change whenever any value
changes: a resumed sweep compares them with its manifest.
"""

from __future__ import annotations

import hashlib
import json
import numbers

import numpy as np

__all__ = ["Grid", "values_hash"]


def values_hash(*arrays) -> str:
    """SHA-256 (hex) of the arrays' dtypes, shapes and bytes, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _check_fixed(fixed: dict) -> dict:
    out = {}
    for name, value in fixed.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"fixed parameter names must be identifiers; got {name!r}")
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (bool, numbers.Number, str)) or isinstance(value, complex):
            raise ValueError(f"fixed parameter {name} must be a real number, a bool or a string; "  # noqa: TRY004
                             f"got {name} = {value!r}")
        if isinstance(value, float) and not np.isfinite(value):
            raise ValueError(f"fixed parameter {name} must be finite; got {name} = {value}")
        out[name] = value
    return out


def as_values(name: str, values) -> np.ndarray:
    """One parameter's values as a finite 1-D float64, int64 or bool array (ValueError naming it)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of values; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf (at position {int(np.flatnonzero(~np.isfinite(arr))[0])})")
    return arr


class Grid:
    """Base class of the sweep grids (:func:`qbjax.grid.product`, :func:`~qbjax.grid.sample`,
    :func:`~qbjax.grid.table`, :func:`~qbjax.grid.table_one`).

    Subclasses set ``names`` (varying parameters, in column order), ``fixed`` (name -> value) and
    implement ``__len__``, :meth:`data`, :meth:`lookup` and :meth:`_describe`.
    """

    names: tuple
    fixed: dict

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def data(self) -> dict:
        """The arrays :meth:`lookup` needs (NumPy; the sweep engine copies them to each device once)."""
        raise NotImplementedError  # pragma: no cover

    def lookup(self, data: dict, config_ids, xp=np) -> dict:
        """``{name: values}`` of the varying parameters for ``config_ids`` (any shape of int64 ids).
        ``xp`` is ``numpy`` or ``jax.numpy`` (inside ``jit``, with ``data`` as device arrays)."""
        raise NotImplementedError  # pragma: no cover

    def _describe(self) -> dict:
        raise NotImplementedError  # pragma: no cover

    def _with_fixed(self, fixed: dict) -> Grid:
        raise NotImplementedError  # pragma: no cover

    # -- shared behaviour ---------------------------------------------------------------------------
    def params(self, config_ids=None) -> dict:
        """The varying parameters of ``config_ids`` (default: every configuration) as NumPy arrays."""
        ids = np.arange(len(self)) if config_ids is None else np.asarray(config_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"config_ids must lie in [0, {len(self)}); got {int(ids.min())}..{int(ids.max())}")
        return self.lookup(self.data(), ids, np)

    def __getitem__(self, config_id: int) -> dict:
        """Configuration ``config_id`` as one dict: varying values (Python scalars) and fixed ones."""
        if isinstance(config_id, bool) or not isinstance(config_id, (int, np.integer)):
            raise TypeError(f"a grid is indexed by an integer config_id; got {config_id!r}")
        i = int(config_id) + (len(self) if config_id < 0 else 0)
        values = self.params([i])
        return {**{k: v[0].item() for k, v in values.items()}, **self.fixed}

    def fix(self, **fixed) -> Grid:
        """The same grid with more fixed parameters (``grid.fix(n_cells=3)``); a name may not be both
        varying and fixed."""
        fixed = _check_fixed(fixed)
        clash = sorted(set(fixed) & set(self.names))
        if clash:
            raise ValueError(f"{clash[0]} is a varying parameter of this grid and cannot also be fixed")
        return self._with_fixed({**self.fixed, **fixed})

    def identity(self) -> dict:
        """Everything that determines the grid's configurations, as a JSON-able dict: the kind, the
        varying names, the number of configurations, the fixed values and a hash of every value."""
        return {"grid_kind": type(self).__name__.lower(), "grid_names": list(self.names),
                "grid_size": len(self), **self._describe(), "fixed": dict(sorted(self.fixed.items()))}

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of :meth:`identity` as canonical JSON."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()

    def __repr__(self) -> str:
        fixed = "".join(f", {k}={v!r}" for k, v in self.fixed.items())
        return f"{type(self).__name__}({len(self):,} configurations of {', '.join(self.names)}{fixed})"
