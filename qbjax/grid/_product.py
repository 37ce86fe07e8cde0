"""Product grids: every combination of the values of a few axes, numbered in C order.

``product(T_L=a, T_R=b, T_M=c)`` holds ``len(a) * len(b) * len(c)`` configurations; configuration
``config_id = (i * len(b) + j) * len(c) + k`` has ``T_L = a[i], T_R = b[j], T_M = c[k]`` (the last
axis varies fastest, like ``numpy.ravel_multi_index``).  An axis may also be a dict of equally long
1-D arrays: its parameters then vary *together* (one index for all of them), for example the
four-level battery's ordered energy triplet ``{eps, eps_b, eps_a}`` of :func:`table_one`.
"""

from __future__ import annotations

import numpy as np

from ._base import Grid, _check_fixed, as_values, values_hash

__all__ = ["Product", "product", "table_one"]


class Product(Grid):
    """The Cartesian product of ``axes`` (see the module docstring); build it with :func:`product`."""

    def __init__(self, axes: dict, fixed: dict | None = None):
        if not axes:
            raise ValueError("a product grid needs at least one axis")
        self.axes = {}
        for axis, values in axes.items():
            group = values if isinstance(values, dict) else {axis: values}
            if not group:
                raise ValueError(f"axis {axis} names no parameter")
            cols = {name: as_values(name, v) for name, v in group.items()}
            sizes = {name: v.size for name, v in cols.items()}
            if len(set(sizes.values())) != 1:
                raise ValueError(f"the parameters of axis {axis} vary together and need equally many values; "
                                 f"got {sizes}")
            self.axes[str(axis)] = cols
        self.names = tuple(name for cols in self.axes.values() for name in cols)
        if len(set(self.names)) != len(self.names):
            dup = next(n for n in self.names if self.names.count(n) > 1)
            raise ValueError(f"parameter {dup} appears on two axes")
        self.shape = tuple(next(iter(cols.values())).size for cols in self.axes.values())
        self.fixed = _check_fixed(dict(fixed or {}))
        clash = sorted(set(self.fixed) & set(self.names))
        if clash:
            raise ValueError(f"{clash[0]} is a varying parameter of this grid and cannot also be fixed")

    def __len__(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def data(self) -> dict:
        return {name: v for cols in self.axes.values() for name, v in cols.items()}

    def lookup(self, data: dict, config_ids, xp=np) -> dict:
        rest = xp.asarray(config_ids)
        index = []
        for size in self.shape[::-1]:  # C order: the last axis varies fastest
            index.append(rest % size)
            rest = rest // size
        index = index[::-1]
        return {name: xp.asarray(data[name])[i] for cols, i in zip(self.axes.values(), index) for name in cols}

    def _describe(self) -> dict:
        return {"grid_axes": [[axis, list(cols), int(next(iter(cols.values())).size)]
                              for axis, cols in self.axes.items()],
                "grid_values": values_hash(*self.data().values())}

    def _with_fixed(self, fixed: dict) -> Product:
        return Product(self.axes, fixed)


def _axis(name: str, spec):
    """An axis given as values, or as ``{"start", "stop", "num"}`` (linspace) /
    ``{"start", "stop", "step"}`` (arange) as in a TOML grid file."""
    if isinstance(spec, dict) and {"start", "stop"} <= set(spec) and not set(spec) - {"start", "stop", "num", "step"}:
        if ("num" in spec) == ("step" in spec):
            raise ValueError(f"axis {name} needs exactly one of num or step beside start and stop; got {spec}")
        if "num" in spec:
            num = spec["num"]
            if isinstance(num, bool) or not isinstance(num, int) or num < 1:
                raise ValueError(f"axis {name}: num must be an integer >= 1; got num = {num!r}")
            return np.linspace(float(spec["start"]), float(spec["stop"]), num)
        step = float(spec["step"])
        if not step > 0:
            raise ValueError(f"axis {name}: step must be > 0; got step = {spec['step']!r}")
        return np.arange(float(spec["start"]), float(spec["stop"]) + 0.5 * step, step)
    if isinstance(spec, dict):
        return {k: _axis(k, v) for k, v in spec.items()}
    return spec


def product(fixed: dict | None = None, **axes) -> Product:
    """The product grid of ``axes`` (name -> 1-D values; C order, the last axis fastest).

    An axis may be ``{"start": a, "stop": b, "num": n}`` (``numpy.linspace``), ``{"start", "stop",
    "step"}`` (stop included when on the step), or a dict of equally long arrays that vary together.
    ``fixed``: parameters shared by every configuration (also :meth:`Grid.fix`).

    >>> g = product(T_L=[0.0, 1.0], T_R=[0.5, 1.5, 2.5])
    >>> len(g), g[4]
    (6, {'T_L': 1.0, 'T_R': 1.5})
    """
    return Product({name: _axis(name, spec) for name, spec in axes.items()}, fixed)


def table_one(points: int = 8, seed: int = 0) -> Product:
    """The four-level battery's seeded Table-I grid (paper 000, Table I): ``points**7`` configurations.

    Axes in config_id order ``T_c, T_h, T_l, p_c, p_h, tau`` and the energy triplet
    ``(eps, eps_b, eps_a)`` varying together; the values are those of
    :func:`qbjax.sweep.table_one_axes` (the grid of ``qbjax sweep``, same ``config_id``\\ s).
    """
    from ..sweep.grid import AXES, table_one_axes

    axes = table_one_axes(points, seed)
    trip = axes.pop("triplet")
    named = {k: axes[k] for k in AXES[:-1]}
    named["triplet"] = {"eps": trip[:, 0], "eps_b": trip[:, 1], "eps_a": trip[:, 2]}
    return Product(named)
