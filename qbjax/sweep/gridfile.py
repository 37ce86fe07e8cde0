"""Grid files for ``qbjax sweep --grid GRID.toml``: what to sweep and over which configurations.

A grid file names the target (``model = "multi-cell"``, a built-in model of
:mod:`qbjax.sweep.models`, or ``function = "mypkg.batteries:features"``, a function of one
configuration), the fixed parameters and the grid: a product grid (``[axes]``), a sample of a box
(``[sample]`` and ``[ranges]``) or explicit rows (``[table] path = "rows.parquet"``)::

    model = "multi-cell"                  # or: function = "mypkg.batteries:features"
    [fixed]
    n_cells = 3
    lam = 0.1
    [axes]                                # product grid, the last axis fastest
    T_L = {start = 0.0, stop = 2.0, num = 50}
    T_R = {start = 0.0, stop = 2.0, num = 50}
    T_M = [0.5, 0.75, 1.0]

    # or instead of [axes]:
    [sample]
    kind = "sobol"                        # sobol | latin | random
    n = 4096
    seed = 0
    [ranges]
    T_L = [0.0, 2.0]

Every problem is a ``ValueError`` naming the file and the key (``axes.T_L: ...``).
"""

from __future__ import annotations

from pathlib import Path

import tomllib

__all__ = ["MODEL_NAMES", "GridFile", "import_function", "read_grid_file"]

#: the built-in models ``qbjax sweep MODEL`` accepts (:data:`qbjax.sweep.models.MODELS`; kept here
#: without imports so that ``qbjax --help`` loads no JAX)
MODEL_NAMES = ("charger", "four-level", "micromaser", "multi-cell", "tavis-cummings")

_TOP = ("model", "function", "fixed", "axes", "sample", "ranges", "table")


class GridFile:
    """A parsed grid file: ``model`` or ``function`` (strings, one of them None) and ``grid``."""

    def __init__(self, path: Path, model: str | None, function: str | None, grid):
        self.path, self.model, self.function, self.grid = path, model, function, grid


def _fail(path, key: str, message: str) -> ValueError:
    return ValueError(f"grid file {path}: {key}: {message}" if key else f"grid file {path}: {message}")


def _table(path, name: str, value) -> dict:
    if not isinstance(value, dict):
        raise _fail(path, name, f"must be a table ([{name}]); got {type(value).__name__}")
    return value


def read_grid_file(path) -> GridFile:
    """Parse the TOML grid file ``path`` (see the module docstring) into a :class:`GridFile`."""
    from .. import grid as qgrid

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"grid file {path} cannot be read ({err.strerror or err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"grid file {path} is not valid TOML: {err}") from None
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise _fail(path, unknown[0], f"unknown key; a grid file has the keys {', '.join(_TOP)}")
    model, function = data.get("model"), data.get("function")
    for key, value in (("model", model), ("function", function)):
        if value is not None and (not isinstance(value, str) or not value):
            raise _fail(path, key, f"must be a non-empty string; got {value!r}")
    if model is not None and function is not None:
        raise _fail(path, "function", "give model or function, not both")
    fixed = _table(path, "fixed", data.get("fixed", {}))
    for key, value in fixed.items():
        if isinstance(value, (dict, list)):
            raise _fail(path, f"fixed.{key}", f"must be a number, a bool or a string; got {value!r}")
    kinds = [k for k in ("axes", "sample", "table") if k in data]
    if len(kinds) != 1:
        raise _fail(path, "", "needs exactly one of [axes] (a product grid), [sample] with [ranges], or [table]"
                              + (f"; got {', '.join(f'[{k}]' for k in kinds)}" if kinds else ""))
    if "ranges" in data and kinds != ["sample"]:
        raise _fail(path, "ranges", "belongs to a [sample] grid")
    try:
        if kinds == ["axes"]:
            grid = _product(path, _table(path, "axes", data["axes"]))
        elif kinds == ["sample"]:
            grid = _sample(path, _table(path, "sample", data["sample"]), data.get("ranges"))
        else:
            spec = _table(path, "table", data["table"])
            if set(spec) != {"path"} or not isinstance(spec["path"], str):
                raise _fail(path, "table", 'needs exactly path = "rows.parquet"')
            rows = Path(spec["path"])
            grid = qgrid.table(rows if rows.is_absolute() else path.parent / rows)
        grid = grid.fix(**fixed)
    except ValueError as err:
        if str(err).startswith(f"grid file {path}"):
            raise
        raise _fail(path, kinds[0], str(err)) from None
    return GridFile(path, model, function, grid)


def _product(path, axes: dict):
    from .. import grid as qgrid

    if not axes:
        raise _fail(path, "axes", "names no axis")
    for name, spec in axes.items():
        ok = isinstance(spec, list) and spec and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in spec)
        ok = ok or (isinstance(spec, dict) and set(spec) <= {"start", "stop", "num", "step"}
                    and {"start", "stop"} <= set(spec))
        if not ok:
            raise _fail(path, f"axes.{name}", "must be a list of numbers or {start = a, stop = b, num = n} "
                                              f"(or step = s); got {spec!r}")
        try:
            qgrid.product(**{name: spec})
        except ValueError as err:
            raise _fail(path, f"axes.{name}", str(err)) from None
    return qgrid.product(**axes)


def _sample(path, spec: dict, ranges):
    from .. import grid as qgrid

    unknown = [k for k in spec if k not in ("kind", "n", "seed")]
    if unknown:
        raise _fail(path, f"sample.{unknown[0]}", "unknown key; [sample] has kind, n and seed")
    if "n" not in spec:
        raise _fail(path, "sample.n", "missing: the number of points")
    if not isinstance(ranges, dict) or not ranges:
        raise _fail(path, "ranges", "a [sample] grid needs [ranges] with name = [low, high]")
    for name, r in ranges.items():
        if not (isinstance(r, list) and len(r) == 2):
            raise _fail(path, f"ranges.{name}", f"must be [low, high]; got {r!r}")
    try:
        return qgrid.sample(spec["n"], spec.get("kind", "sobol"), spec.get("seed", 0), **ranges)
    except ValueError as err:
        key = next((f"sample.{k}" for k in ("n", "kind", "seed") if f"{k} " in str(err)[:12]), "ranges")
        raise _fail(path, key, str(err)) from None


def import_function(spec: str):
    """The function named by ``"package.module:name"`` (``name`` may be dotted, ``Class.method``);
    the current directory is searched first, as for ``python -m``.  ValueError naming what failed."""
    import importlib
    import os
    import sys

    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--function must be MODULE:NAME, e.g. mypkg.batteries:features; got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"--function {spec}: cannot import module {module_name} ({type(err).__name__}: {err})") \
            from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"--function {spec}: {module_name} has no attribute {attr}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"--function {spec}: {attr} is not callable")  # noqa: TRY004 (a CLI input error)
    return obj
