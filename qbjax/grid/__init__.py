"""Sweep grids (``qb.grid``): the configurations a :func:`qbjax.sweep` evaluates.

=================================  =========================================================
``product(**axes)``                every combination of the axes' values (C order)
``sample(n, kind, seed, **ranges)``  Sobol, Latin-hypercube or uniform points of a box
``table(rows)``                    explicit rows: dict of arrays, DataFrame, Arrow table, Parquet
``table_one(points, seed)``        the four-level battery's Table-I grid (paper 000)
=================================  =========================================================

Every grid has a length, a stable ``config_id -> parameters`` map (``grid[i]``,
``grid.params(ids)``), fixed parameters (``grid.fix(n_cells=3)`` or ``fixed=``) and a fingerprint
(``grid.fingerprint``), which a sweep's manifest records so that a resume with another grid is refused.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "Grid": "._base",
    "KINDS": "._table",
    "Product": "._product",
    "Table": "._table",
    "product": "._product",
    "sample": "._table",
    "table": "._table",
    "table_one": "._product",
})
