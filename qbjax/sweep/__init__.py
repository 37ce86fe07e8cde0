"""`qbjax sweep`: the four-level battery's Table-I grid to a Parquet dataset (paper 000).

Modules: :mod:`~qbjax.sweep.grid` (the seeded grid, ``config_id``), :mod:`~qbjax.sweep.runner`
(chunks, sharding over local devices, process shares), :mod:`~qbjax.sweep.store` (Parquet parts,
atomic renames, manifest, part checks, :func:`read_dataset`), :mod:`~qbjax.sweep.identity` (what
determines the rows, the fingerprint), :mod:`~qbjax.sweep.lock` (one run per directory), :mod:`~qbjax.sweep.run`
(:func:`run_sweep`), :mod:`~qbjax.sweep.filter` (:func:`filter_dataset`), :mod:`~qbjax.sweep.where`
(``--where`` rules: expressions over a dataset's columns), :mod:`~qbjax.sweep.cli`.

Dataset layout::

    DIR/manifest.json              identity and fingerprint, parameters (points, seed, conventions,
                                   chunk), versions, devices, timings, row counts,
                                   status ("running" / "incomplete" / "complete")
    DIR/data/part-KKKKKK.parquet   chunk k: the dataset columns (float64) + config_id (int64); its
                                   Parquet metadata: the dataset's fingerprint, k, its config_id range
    DIR/.qbjax.lock                held by the run writing DIR (a second run is refused at once)

A part is used only after it passed every check (:func:`qbjax.sweep.store.read_part`: fingerprint,
chunk index, config_ids exactly its range, every column read with page checksums): ``--resume``
recomputes a part that fails (one line on stderr names it), the readers (``read_dataset``,
``filter_dataset``, ``qbjax learn``) refuse it with a ``ValueError`` naming the file.  Part files
without a manifest are refused, and so is a ``--resume`` with other parameters than the dataset's.

Usage::

    qbjax sweep --out runs/grid                     # 8^7 = 2,097,152 configurations
    qbjax sweep --points 3 --out runs/small         # 3^7 = 2,187 (quick)
    qbjax sweep --out runs/grid --resume            # after an interruption: finishes the missing parts
    qbjax filter runs/grid --out runs/grid-filtered # the paper's rules, count after each rule
    qbjax filter runs/grid --out runs/r1 --where "E0 > 1e-12 and ratio >= 1"   # rules of one's own

    >>> from qbjax.sweep import run_sweep, read_dataset, filter_dataset
    >>> run_sweep("runs/small", points=3)                 # doctest: +SKIP
    >>> table = read_dataset("runs/small")                # doctest: +SKIP
    >>> counts = filter_dataset("runs/small", "runs/small-filtered")  # doctest: +SKIP

Values are identical (bit for bit) for the same points, seed, conventions and chunk, whatever the
number of devices or processes: each device always evaluates one whole chunk of the same shape.

**Several GPUs on one machine.**  Nothing to configure: every step evaluates one chunk per local
GPU, sharded over a ``jax.sharding.Mesh`` of ``jax.local_devices()`` (axis ``"batch"``,
``NamedSharding``).  ``CUDA_VISIBLE_DEVICES=0,1`` limits the GPUs; ``run_sweep(..., devices=[...])``
picks local devices by hand.  Give each GPU a large chunk (``--chunk 262144`` or more, so that a step
keeps it busy for more than a few milliseconds).  On CPU the sweep uses one device by default: XLA's
host "devices" (``XLA_FLAGS=--xla_force_host_platform_device_count=N``) share the same cores, and with
jaxlib 0.10.2 several of them running batched LAPACK kernels at once can deadlock (see
:func:`qbjax.sweep.runner.sweep_devices`); ``devices=jax.local_devices()`` forces them (small chunks).

**Several hosts (or several processes on one host).**  Start one process per host (or per GPU) with
the ``jax.distributed`` environment and the same arguments and output directory; each process takes
the chunks ``k = p, p + P, ...`` and writes its own part files, process 0 writes the manifest::

    # on every host h = 0..P-1 (coordinator: host 0, any free port)
    python -c "import jax; jax.distributed.initialize('host0:12345', num_processes=P, process_id=h); \\
        from qbjax.sweep import run_sweep; run_sweep('/shared/grid')"

(On SLURM/Open MPI clusters ``jax.distributed.initialize()`` without arguments reads the job
environment.)  With a shared file system the union is complete in ``/shared/grid``; without one, copy
every host's ``data/part-*.parquet`` into the ``DIR/data`` of host 0 (the one with the manifest) and
run ``qbjax sweep --resume --out DIR`` with the same arguments there: it checks every part (they carry
the same fingerprint), computes none, and marks the manifest complete.  An interrupted multi-process run resumes with ``--resume`` under any number of processes
or devices.
"""

import sys as _sys
import types as _types

from .._lazy import attach


class _SweepModule(_types.ModuleType):
    """``qbjax.sweep`` is also the function ``qb.sweep(fn, grid, out, ...)``
    (:func:`qbjax.sweep.function.sweep`)."""

    def __call__(self, fn, grid, out, **options):
        from .function import sweep

        return sweep(fn, grid, out, **options)


_sys.modules[__name__].__class__ = _SweepModule

__getattr__, __dir__, __all__ = attach(__name__, {
    "AXES": ".grid",
    "MODELS": ".models",
    "COLUMNS": ".store",
    "DatasetError": ".store",
    "PAPER_COUNTS": ".filter",
    "PartError": ".store",
    "RANGES": ".grid",
    "RULES": ".filter",
    "StorageError": ".store",
    "config_ids_to_params": ".grid",
    "filter_dataset": ".filter",
    "n_configs": ".grid",
    "read_dataset": ".store",
    "run_job": ".run",
    "run_sweep": ".run",
    "sweep": ".function",
    "sweep_model": ".models",
    "table_one_axes": ".grid",
})
