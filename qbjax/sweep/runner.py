"""Chunked, sharded evaluation of the Table-I grid (paper 000).

The grid's ``n = points**7`` configurations are cut into *chunks* of ``chunk`` consecutive
``config_id``\\ s (chunk ``k`` holds ids ``[k chunk, (k + 1) chunk)``; the last one may be short).
A chunk is the unit of work, of storage (one Parquet part file) and of resumption.

* **Devices.**  One *step* evaluates ``D`` chunks at once, one per device (default: all local
  accelerator devices; on CPU one device, see :func:`sweep_devices`): the ids of the
  ``D`` chunks form one ``(D * chunk,)`` int64 array sharded over a 1-D ``jax.sharding.Mesh`` of
  the local devices (axis ``"batch"``, ``NamedSharding(mesh, P("batch"))``), and
  ``jit(shard_map(...))`` runs :func:`qbjax.models.four_level.four_level_features` on each device's
  block.  Every device therefore always sees an array of the same shape holding one whole chunk, so a
  configuration's values do not depend on the number of devices (bit-identical datasets on 1 or 4
  devices; XLA's results can differ in the last bit between *different* chunk sizes, which is why the
  chunk size is part of a sweep's identity and recorded in its manifest).
* **Processes.**  Under ``jax.distributed.initialize`` process ``p`` of ``P`` takes the chunks
  ``k = p, p + P, p + 2P, ...`` (a disjoint share; their union is the grid) on its own local devices.
  No cross-process collective is needed.
* **Memory** is bounded by the chunk size: at most two steps are in flight (the next one is
  dispatched before the previous one is copied to the host and written).
"""

from __future__ import annotations

import functools
import os

import equinox as eqx
import numpy as np

from .grid import AXES

__all__ = [
    "BYTES_PER_CONFIG",
    "DEFAULT_MAX_CHUNK",
    "available_memory",
    "chunk_bounds",
    "compiled_step",
    "default_chunk",
    "evaluate_ids",
    "make_step",
    "n_chunks",
    "process_chunks",
    "steps",
    "sweep_devices",
]

#: device working memory per configuration in one step (bytes): a bound on the measured growth of the
#: peak RSS over a ~0.4 GiB baseline, about 5 KiB (physical) and 11 KiB (published) per configuration
#: in flight at chunk 65536 on CPU
BYTES_PER_CONFIG = 16_384
#: the default chunk never exceeds this (configurations); also the default on any machine with
#: more than ~4 GiB free, so the default dataset is the same on every such machine
DEFAULT_MAX_CHUNK = 65_536
_MIN_CHUNK = 1_024


def available_memory() -> int:
    """Free host memory in bytes (``MemAvailable`` of /proc/meminfo; 8 GiB if unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_chunk(n: int, n_devices: int = 1, memory: int | None = None) -> int:
    """Default chunk size (configurations) for ``n`` configurations on ``n_devices`` devices.

    The largest power of two <= :data:`DEFAULT_MAX_CHUNK` whose in-flight working set (two steps of
    ``n_devices`` chunks at :data:`BYTES_PER_CONFIG` each) fits in a quarter of ``memory`` (bytes;
    default: :func:`available_memory`), at least 1024, and never more than ``n``.  It does not depend
    on ``n_devices`` unless memory is short, so 1- and 4-device runs normally agree bit for bit.
    """
    memory = available_memory() if memory is None else int(memory)
    budget = memory // 4 // (2 * max(1, int(n_devices)) * BYTES_PER_CONFIG)
    chunk = DEFAULT_MAX_CHUNK
    while chunk > _MIN_CHUNK and chunk > budget:
        chunk //= 2
    return int(max(1, min(chunk, n)))


def n_chunks(n: int, chunk: int) -> int:
    """Number of chunks of ``chunk`` configurations covering ``n`` (the last may be short)."""
    return -(-int(n) // int(chunk))


def chunk_bounds(k: int, n: int, chunk: int) -> tuple[int, int]:
    """``(start, stop)`` config ids of chunk ``k`` (stop exclusive)."""
    start = int(k) * int(chunk)
    return start, min(start + int(chunk), int(n))


def process_chunks(n_total_chunks: int, process_index: int = 0, process_count: int = 1) -> list[int]:
    """The chunks of process ``process_index`` of ``process_count``: ``k = p, p + P, ...``."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ValueError(f"process_index must lie in [0, {process_count}); got {process_index}")
    return list(range(int(process_index), int(n_total_chunks), int(process_count)))


def steps(chunks: list[int], n_devices: int) -> list[list[int]]:
    """``chunks`` grouped ``n_devices`` at a time (one chunk per device and step)."""
    d = max(1, int(n_devices))
    return [list(chunks[i:i + d]) for i in range(0, len(chunks), d)]


def step_ids(step: list[int], n: int, chunk: int, n_devices: int) -> np.ndarray:
    """The ``(n_devices * chunk,)`` int64 ids of one step; short chunks and idle devices are padded
    with the id ``n - 1`` (their rows are dropped)."""
    ids = np.full((int(n_devices), int(chunk)), int(n) - 1, dtype=np.int64)
    for d, k in enumerate(step):
        start, stop = chunk_bounds(k, n, chunk)
        ids[d, : stop - start] = np.arange(start, stop, dtype=np.int64)
    return ids.reshape(-1)


def _block(axes, ids, conventions: str):
    """Every dataset column of one device's block of config ids."""
    import jax

    from ..models.four_level import four_level_features
    from .grid import config_ids_to_params

    params = config_ids_to_params(axes, ids, xp=jax.numpy)
    return four_level_features(params, conventions, order=4, validate=False)


@eqx.filter_jit
def sharded_features(mesh, conventions: str, axes: dict, ids):
    """Every dataset column of the config ids ``ids`` (sharded over ``mesh`` axis "batch"), each
    device evaluating its own block with ``shard_map`` (the mesh and the conventions are static: JAX
    compiles once per mesh, conventions and shape)."""
    import jax
    from jax.sharding import PartitionSpec as P

    block = functools.partial(_block, conventions=conventions)
    return jax.shard_map(block, mesh=mesh, in_specs=(P(), P("batch")), out_specs=P("batch"),
                         check_vma=False)(axes, ids)


def make_step(conventions: str, devices: tuple):
    """``(f(axes, ids) -> dict, batch_sharding, replicated_sharding)`` for a tuple of local devices.

    ``axes``: the grid axes as arrays (replicated); ``ids``: int64 config ids of shape
    ``(len(devices) * chunk,)`` sharded over the mesh axis ``"batch"``.  ``f`` returns every column of
    :data:`qbjax.models.four_level.FEATURES` (float64), sharded like ``ids``.
    """
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.asarray(devices, dtype=object), ("batch",))
    return functools.partial(sharded_features, mesh, conventions), NamedSharding(mesh, P("batch")), \
        NamedSharding(mesh, P())


def sweep_devices(devices=None) -> tuple:
    """The local devices a sweep shards over.

    Default: every local device of an accelerator platform (GPU/TPU); on the CPU platform only the
    first one.  XLA's CPU "devices" (``--xla_force_host_platform_device_count``) share the host's
    cores and one thread pool, so sharding over them gains nothing, and with jaxlib 0.10.2 several of
    them running batched LAPACK kernels at once can deadlock that pool (reproduced: 4 host devices,
    chunk 8192; small chunks, as in the tests, do not split their LAPACK batches and run).  Pass
    ``devices`` (local devices) to override.
    """
    import jax

    local = jax.local_devices()
    if devices is None:
        return (local[0],) if local[0].platform == "cpu" else tuple(local)
    devices = tuple(devices)
    if not devices or any(d not in local for d in devices):
        raise ValueError(f"devices must be a non-empty sequence of this process's local devices {local}; "
                         f"got devices = {devices}")
    return devices


def compiled_step(conventions: str, devices: tuple, chunk: int, points: int):
    """``(step, batch_sharding, replicated_sharding, compile_s)``: the step function for ``len(devices)``
    chunks of ``chunk`` configurations on a ``points``-value grid, compiled ahead of time so that
    ``compile_s`` measures the compilation alone (JAX caches it: a later sweep of the same shape in the
    same process compiles nothing, and ``compile_s`` is then the time of the cache lookup)."""
    import time

    import jax

    fn, batch, replicated = make_step(conventions, tuple(devices))
    # placeholders of the step's shapes and shardings (filter_jit lowers arrays, not abstract shapes)
    axes = {k: jax.device_put(np.zeros((points,) if k != "triplet" else (points, 3)), replicated) for k in AXES}
    ids = jax.device_put(np.zeros(len(devices) * int(chunk), dtype=np.int64), batch)
    t0 = time.perf_counter()
    compiled = fn.func.lower(*fn.args, axes, ids).compile()
    return functools.partial(compiled, *fn.args), batch, replicated, time.perf_counter() - t0


def put_axes(axes: dict, replicated) -> dict:
    """The grid axes as float64 device arrays, replicated over the mesh."""
    import jax

    return {k: jax.device_put(np.asarray(v, dtype=np.float64), replicated) for k, v in axes.items()}


def evaluate_ids(axes: dict, ids, conventions: str = "physical", devices=None) -> dict:
    """Every dataset column (NumPy float64) for the config ids ``ids`` (a 1-D int array whose length
    is a multiple of the number of ``devices``).  A convenience for
    small evaluations and tests; :func:`qbjax.sweep.run_sweep` drives the same step function.
    Default ``devices``: :func:`sweep_devices`."""
    import jax

    devices = sweep_devices(devices)
    fn, batch, replicated = make_step(conventions, devices)
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids.size % len(devices):
        raise ValueError(f"len(ids) must be a multiple of the {len(devices)} devices; got {ids.size}")
    out = fn(put_axes(axes, replicated), jax.device_put(ids, batch))
    return {k: np.asarray(v) for k, v in out.items()}
