"""Grids of explicit rows: a table of configurations, and quasi-random or random samples of a box.

``table(rows)`` takes configuration ``i`` to be row ``i`` of ``rows`` (a dict of equally long 1-D
arrays, a pandas DataFrame, a ``pyarrow.Table`` or a Parquet file).  ``sample(n, kind, seed,
**ranges)`` draws ``n`` points of the box ``ranges`` (name -> ``(low, high)``): ``"sobol"`` (scrambled
Sobol, :class:`scipy.stats.qmc.Sobol`), ``"latin"`` (Latin hypercube, :class:`scipy.stats.qmc.LatinHypercube`)
or ``"random"`` (uniform, ``numpy.random.default_rng(seed)``); the same seed gives the same points
on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._base import Grid, _check_fixed, as_values, values_hash

__all__ = ["KINDS", "Table", "sample", "table"]

#: the sample kinds of :func:`sample`
KINDS = ("sobol", "latin", "random")


class Table(Grid):
    """Explicit rows (see the module docstring); build it with :func:`table` or :func:`sample`."""

    def __init__(self, columns: dict, fixed: dict | None = None, how: dict | None = None):
        if not columns:
            raise ValueError("a table grid needs at least one parameter column")
        self.columns = {str(k): as_values(str(k), v) for k, v in columns.items()}
        sizes = {k: v.size for k, v in self.columns.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the parameter columns of a table grid need equally many rows; got {sizes}")
        self.names = tuple(self.columns)
        self.how = dict(how or {"source": "rows"})
        self.fixed = _check_fixed(dict(fixed or {}))
        clash = sorted(set(self.fixed) & set(self.names))
        if clash:
            raise ValueError(f"{clash[0]} is a varying parameter of this grid and cannot also be fixed")

    def __len__(self) -> int:
        return int(next(iter(self.columns.values())).size)

    def data(self) -> dict:
        return dict(self.columns)

    def lookup(self, data: dict, config_ids, xp=np) -> dict:
        ids = xp.asarray(config_ids)
        return {name: xp.asarray(data[name])[ids] for name in self.names}

    def _describe(self) -> dict:
        return {**self.how, "grid_values": values_hash(*self.columns.values())}

    def _with_fixed(self, fixed: dict) -> Table:
        return Table(self.columns, fixed, self.how)


def table(rows, fixed: dict | None = None) -> Table:
    """The grid whose configuration ``i`` is row ``i`` of ``rows``: a dict of equally long 1-D arrays,
    a pandas (or polars) DataFrame, a ``pyarrow.Table``, or the path of a Parquet file.  A
    ``config_id`` column, if present, is ignored (the grid numbers its rows 0, 1, ...)."""
    if isinstance(rows, (str, Path)):
        import pyarrow.parquet as pq

        path = Path(rows)
        if not path.is_file():
            raise ValueError(f"rows must be an existing Parquet file; got {path}")
        rows = pq.read_table(path)
    if hasattr(rows, "column_names") and hasattr(rows, "column"):  # pyarrow.Table
        columns = {name: rows.column(name).to_numpy() for name in rows.column_names}
    elif hasattr(rows, "columns") and hasattr(rows, "to_numpy") and not isinstance(rows, dict):  # DataFrame
        columns = {str(name): np.asarray(rows[name]) for name in rows.columns}
    elif isinstance(rows, dict):
        columns = dict(rows)
    else:
        raise ValueError(f"rows must be a dict of arrays, a DataFrame, a pyarrow.Table or a Parquet file; "
                         f"got {type(rows).__name__}")
    columns.pop("config_id", None)
    return Table(columns, fixed)


def sample(n: int, kind: str = "sobol", seed: int = 0, fixed: dict | None = None, **ranges) -> Table:
    """``n`` points of the box ``ranges`` (name -> ``(low, high)``, low < high), drawn by ``kind``:
    ``"sobol"`` (scrambled Sobol; ``n`` a power of 2 keeps its balance properties), ``"latin"``
    (Latin hypercube) or ``"random"`` (uniform).  Returns a :class:`Table` grid.

    >>> g = sample(8, "sobol", seed=1, T_L=(0.0, 2.0), T_R=(0.0, 2.0))
    >>> len(g), sorted(g.names)
    (8, ['T_L', 'T_R'])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (number of points); got n = {n!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind = {kind!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got seed = {seed!r}")
    if not ranges:
        raise ValueError("sample needs at least one range, e.g. T_L=(0.0, 2.0)")
    bounds = {}
    for name, r in ranges.items():
        try:
            lo, hi = (float(x) for x in r)
        except (TypeError, ValueError):
            raise ValueError(f"range {name} must be a pair (low, high); got {name} = {r!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"range {name} must be finite with low < high; got {name} = ({lo}, {hi})")
        bounds[name] = (lo, hi)
    d, n = len(bounds), int(n)
    if kind == "random":
        unit = np.random.default_rng(int(seed)).random((n, d))
    else:
        from scipy.stats import qmc

        engine = qmc.Sobol(d, scramble=True, seed=int(seed)) if kind == "sobol" else \
            qmc.LatinHypercube(d, seed=int(seed))
        if kind == "sobol" and n & (n - 1) == 0:
            unit = engine.random_base2(int(np.log2(n)))
        else:
            import warnings

            with warnings.catch_warnings():  # scipy warns that a non-power-of-2 Sobol size loses balance
                warnings.simplefilter("ignore", UserWarning)
                unit = engine.random(n)
    lo = np.array([b[0] for b in bounds.values()])
    hi = np.array([b[1] for b in bounds.values()])
    points = lo + unit * (hi - lo)
    columns = {name: points[:, j] for j, name in enumerate(bounds)}
    how = {"source": "sample", "sample_kind": kind, "sample_seed": int(seed),
           "sample_ranges": {k: list(v) for k, v in bounds.items()}}
    return Table(columns, fixed, how)
