"""What a sweep evaluates: a :class:`Job` (identity, compiled step, grid data, up-front checks).

The engine (:func:`qbjax.sweep.run.run_job`) is the same for every sweep; a job says what to compute:

* :func:`table_one_job`: the four-level battery's Table-I grid (``qbjax sweep`` with no model), its
  batched :func:`~qbjax.models.four_level.four_level_features` on each device's block of ids, the
  dataset identity of :func:`qbjax.sweep.identity.sweep_identity`;
* :func:`function_job`: any function of ONE configuration over any :mod:`qbjax.grid` grid, run as
  ``jit(shard_map(vmap(fn)))``; the identity holds the function's name and a hash of its traced
  program (jaxpr and constants), the grid's identity and fingerprint, the chunk and the columns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .columns import type_string
from .identity import FORMAT_VERSION, sweep_identity

__all__ = ["Job", "function_job", "output_types", "table_one_job"]


@dataclass(frozen=True)
class Job:
    """One sweep: ``n`` configurations, what identifies the dataset and how to compute a step.

    ``identity(chunk)`` is the dataset identity for that chunk size; ``parameters(identity)`` the
    manifest's ``parameters``; ``compile(devices, chunk)`` returns ``(step, batch_sharding,
    replicated_sharding, compile_s)`` with ``step(data, ids) -> {column: (D * chunk, ...) array}``;
    ``data`` the arrays the step looks parameters up in (replicated on every device);
    ``host_columns(ids)`` the columns computed on the host (the parameters of a function sweep);
    ``validate()`` the checks of the whole grid run before any compute; ``key`` names the job in
    barrier names (equal on every process)."""

    n: int
    label: str
    key: str
    identity: Callable[[int], dict]
    parameters: Callable[[dict], dict]
    compile: Callable
    data: dict
    validate: Callable[[], None] = lambda: None
    host_columns: Callable | None = None
    defaults: dict = field(default_factory=dict)


# -- the four-level Table-I grid -------------------------------------------------------------------
def table_one_job(points: int, seed: int, conventions: str) -> Job:
    """The Table-I sweep of ``points**7`` configurations (the dataset of ``qbjax sweep``)."""
    from . import runner
    from .grid import AXES, n_configs, table_one_axes

    axes = table_one_axes(points, seed)

    def validate():
        from ..models.four_level import validate_parameters

        validate_parameters({k: v for k, v in axes.items() if k != "triplet"}
                            | dict(zip(("eps", "eps_b", "eps_a"), axes["triplet"].T)))

    n = n_configs(points)
    return Job(
        n=n, label=f"sweep {points}^7 {conventions}", key=f"table-one|{points}|{seed}|{conventions}",
        identity=lambda chunk: sweep_identity(points, seed, conventions, chunk, n),
        parameters=lambda ident: {**{k: ident[k] for k in ("points", "seed", "conventions", "chunk", "n_configs")},
                                  "axes": list(AXES)},
        compile=lambda devices, chunk: runner.compiled_step(conventions, devices, chunk, points),
        data=axes, validate=validate)


# -- any function of one configuration --------------------------------------------------------------
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


def _example(grid) -> dict:
    import jax

    data = grid.data()
    return {name: jax.ShapeDtypeStruct((), data[name].dtype) for name in grid.names}


def _merged(fn, grid):
    fixed = dict(grid.fixed)
    return lambda varying: fn({**varying, **fixed})


def output_types(fn, grid) -> dict:
    """``{name: type string}`` of ``fn``'s outputs for one configuration of ``grid`` (traced once, no
    compute); ValueError if ``fn`` does not return a flat dict of real fixed-shape arrays whose names
    differ from the parameters and ``config_id``."""
    import jax

    try:
        out = jax.eval_shape(_merged(fn, grid), _example(grid))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"fn failed on one configuration of the grid (parameters {list(grid.names)}, fixed "
                         f"{grid.fixed}): {type(err).__name__}: {err}") from err
    if not isinstance(out, dict) or not out:
        raise ValueError(f"fn must return a non-empty dict name -> array; got {type(out).__name__}")
    taken = {"config_id", *grid.names, *grid.fixed}
    types = {}
    for name, leaf in out.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"fn's output names must be identifiers; got {name!r}")
        if name in taken:
            raise ValueError(f"fn's output {name} has the name of a parameter or of config_id; rename it")
        if not hasattr(leaf, "dtype"):
            raise ValueError(f"fn's output {name} must be an array (a flat dict of arrays); got {type(leaf).__name__}")
        if np.issubdtype(leaf.dtype, np.complexfloating):
            raise ValueError(f"fn's output {name} is complex ({leaf.dtype}); return its real and imaginary parts "
                             "as two outputs")
        try:
            types[name] = type_string(leaf.dtype, leaf.shape)
        except ValueError as err:
            raise ValueError(f"fn's output {name}: {err}") from None
    return types


def program_hash(fn, grid) -> str:
    """SHA-256 of ``fn``'s traced program for one configuration: the jaxpr text (object addresses
    removed) and the bytes of its constants; it changes when the computation changes."""
    import jax

    closed = jax.make_jaxpr(_merged(fn, grid))(_example(grid))
    h = hashlib.sha256(_ADDRESS.sub("", str(closed.jaxpr)).encode())
    for c in closed.consts:
        a = np.asarray(c)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _host_types(grid) -> dict:
    data = grid.data()
    types = {name: type_string(data[name].dtype) for name in grid.names}
    for name, value in grid.fixed.items():
        if isinstance(value, bool):
            types[name] = "bool"
        elif isinstance(value, (int, np.integer)):
            types[name] = "int64"
        elif not isinstance(value, str):
            types[name] = "float64"
    return types


def _checks(unchecked: bool):
    """qbjax's traced checks off (``unchecked``: the grid was checked up front), else as they are."""
    from .._validate import set_validation, validation_enabled

    return set_validation(False if unchecked else validation_enabled())


def _compile_function(block, devices: tuple, chunk: int, data: dict, unchecked: bool):
    import time

    import jax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.asarray(devices, dtype=object), ("batch",))
    batch, replicated = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())
    step = jax.jit(jax.shard_map(block, mesh=mesh, in_specs=(P(), P("batch")), out_specs=P("batch"),
                                 check_vma=False))
    placeholders = {k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=replicated) for k, v in data.items()}
    ids = jax.ShapeDtypeStruct((len(devices) * int(chunk),), np.int64, sharding=batch)
    t0 = time.perf_counter()
    with _checks(unchecked):
        compiled = step.lower(placeholders, ids).compile()
    return compiled, batch, replicated, time.perf_counter() - t0


def function_job(fn, grid, validate=None, name: str | None = None) -> Job:
    """The sweep of ``fn`` (one configuration -> dict of outputs) over ``grid``.

    ``validate(params)`` (optional) checks the whole grid (``params``: name -> NumPy array of every
    configuration's value, fixed values as scalars) before any compute; given it, the step is
    compiled with qbjax's traced checks off (no host callbacks, so JAX's persistent cache can store
    it); without it the checks inside ``fn`` run in the compiled step as usual.
    """
    import jax

    unchecked = validate is not None
    with _checks(unchecked):
        outputs = output_types(fn, grid)
        code = program_hash(fn, grid)
    label = name or f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
    columns = {"config_id": "int64", **_host_types(grid), **outputs}
    n = len(grid)
    gid = grid.identity()

    def identity(chunk: int) -> dict:
        return {"format_version": FORMAT_VERSION, "kind": "function-sweep", "function": label,
                "function_program": code, "checks": "up front" if unchecked else "in the step",
                **gid, "chunk": int(chunk), "n_configs": n,
                "columns": columns}

    def block(data, ids):
        varying = grid.lookup(data, ids, jax.numpy)
        return jax.vmap(_merged(fn, grid))(varying)

    def host_columns(ids):
        cols = grid.params(ids)
        for k, value in grid.fixed.items():
            if k in columns:
                cols[k] = np.full(ids.shape, value, dtype=columns[k])
        return cols

    def run_validate():  # the whole grid, before any compute (qb.sweep runs it before tracing fn)
        if validate is not None:
            validate({**grid.params(), **grid.fixed})

    return Job(
        n=n, label=f"sweep {label} ({n:,} configurations)", key=f"function|{label}|{code}|{grid.fingerprint}",
        identity=identity,
        parameters=lambda ident: {"chunk": ident["chunk"], "n_configs": n, "function": label,
                                  "grid": gid, "grid_fingerprint": grid.fingerprint, "outputs": outputs},
        compile=lambda devices, chunk: _compile_function(block, tuple(devices), chunk, grid.data(), unchecked),
        data=grid.data(), validate=run_validate, host_columns=host_columns)
