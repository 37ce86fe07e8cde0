"""``qb.sweep(fn, grid, out)``: any function of one configuration over a grid, to a Parquet dataset.

The engine is the Table-I sweep's (chunks, one chunk per local device and step under
``jit(shard_map(...))``, disjoint shares under ``jax.distributed``, atomic Parquet parts, a manifest,
resume, progress); :mod:`qbjax.sweep.job` turns ``fn`` and ``grid`` into the job it runs.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

__all__ = ["sweep"]


def sweep(fn, grid, out, *, chunk: int | None = None, resume: bool = False, progress: bool = True,
          validate=None, devices=None, name: str | None = None) -> Path:
    """Evaluate ``fn`` on every configuration of ``grid`` into the Parquet dataset ``out``.

    ``fn(config) -> {name: value}`` maps ONE configuration (a dict: the grid's varying parameters as
    JAX scalars, its fixed parameters as Python values) to named scalars or fixed-shape real arrays;
    the engine runs ``jit(vmap(fn))`` chunk by chunk, each step sharded over the local devices
    (``jax.sharding.NamedSharding``; one device on CPU, see
    :func:`qbjax.sweep.runner.sweep_devices`) and, under ``jax.distributed``, over processes (process
    ``p`` of ``P`` takes chunks ``p, p + P, ...``).  Every part file is written atomically and
    checked when resumed or read.

    Args:
        fn: the function of one configuration.  Its outputs become columns (scalars as float64,
            int64 or bool columns, arrays as fixed-size list columns); complex outputs are refused
            (return real and imaginary parts).
        grid: a :mod:`qbjax.grid` grid (``qb.grid.product``, ``sample``, ``table``, ``table_one``).
        out: output directory: ``out/manifest.json`` and ``out/data/part-KKKKKK.parquet``.
        chunk: configurations per part file and per device and step (default: from free memory, at
            most 65,536).  Values can differ in the last bit between chunk sizes, so the chunk is part
            of the dataset's identity.
        resume: continue the sweep in ``out``; refused, with every difference named, if its grid
            (values or fixed parameters), function (name or traced program) or chunk differ.
        progress: show configurations/s and the time left.
        validate: optional ``validate(params)`` run on the whole grid before any compute
            (``params``: name -> NumPy array of every configuration's value, fixed values as
            scalars; raise ``ValueError`` naming the parameter).  Given it, ``fn`` is compiled with
            qbjax's traced checks off (no host callbacks in the hot program); without it qbjax's
            checks inside ``fn`` stay on.
        devices: local devices to shard each step over (default: all local GPUs/TPUs; one CPU).
        name: the function's name in the manifest (default ``module:qualname``).

    Returns ``Path(out)``; :func:`qbjax.read_dataset` reads it back as a ``pyarrow.Table`` with the
    columns ``config_id``, the parameters (varying, then numeric fixed ones), the outputs.  Raises
    ``ValueError`` for a bad grid, function or resume, and :class:`qbjax.sweep.store.StorageError`
    (an ``OSError``) for an unusable ``out``, before any compute.

    >>> import jax.numpy as jnp, qbjax as qb
    >>> def fn(c):
    ...     return {"E": c["omega"] * jnp.tanh(c["omega"] / (2 * c["T"]))}
    >>> qb.sweep(fn, qb.grid.product(omega=[1.0, 2.0], T=[0.5, 1.0]), "runs/demo")  # doctest: +SKIP
    """
    from ..grid import Grid
    from .job import function_job
    from .run import check_chunk, run_job

    t_start = time.perf_counter()
    if not callable(fn):
        raise ValueError(f"fn must be a function of one configuration; got {type(fn).__name__}")  # noqa: TRY004
    if not isinstance(grid, Grid):
        raise ValueError("grid must be a qbjax grid (qb.grid.product, sample, table or table_one); "
                         f"got {type(grid).__name__}")
    if validate is not None and not callable(validate):
        raise ValueError(f"validate must be a function of the grid's parameters; got {type(validate).__name__}")
    check_chunk(chunk)
    import jax

    from .. import _precision  # noqa: F401  (qbjax's float64 default)

    if not jax.config.read("jax_enable_x64"):
        raise ValueError("the sweep needs float64: precision is 'single' (unset QBJAX_PRECISION=single)")
    if validate is not None:  # the whole grid, before fn is traced (a rejected value is named first)
        validate({**grid.params(), **grid.fixed})
    job = function_job(fn, grid, validate=validate, name=name)
    job = dataclasses.replace(job, validate=lambda: None)  # checked above
    return run_job(job, out, chunk=chunk, resume=resume, progress=progress, devices=devices, t_start=t_start)
