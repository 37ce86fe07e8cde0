"""``run_sweep``: the whole Table-I grid to a Parquet dataset (chunked, sharded, resumable).

See :mod:`qbjax.sweep.runner` (chunks, devices, processes) and :mod:`qbjax.sweep.store` (layout).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import runner, store
from .grid import AXES, n_configs, table_one_axes

__all__ = ["run_sweep"]

#: the manifest parameters that define a sweep's dataset (a resumed run must match them)
IDENTITY = ("points", "seed", "conventions", "chunk", "n_configs")
_CALLS = [0]


def _validate(points, seed, conventions, chunk):
    from ..models.four_level import CONVENTIONS

    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ValueError(f"points must be an integer >= 1; got points = {points!r}")
    if points > 64:
        raise ValueError(f"points must be <= 64 (64^7 = 4.4e12 configurations); got points = {points}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got seed = {seed!r}")
    if conventions not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {CONVENTIONS}; got conventions = {conventions!r}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk must be an integer >= 1 (configurations per part file); got chunk = {chunk!r}")


def _client():
    """The ``jax.distributed`` runtime client, or None (one process, or not initialised)."""
    try:
        from jax._src import distributed

        return distributed.global_state.client
    except Exception:  # noqa: BLE001
        return None


def _barrier(name: str, timeout_s: float = 7 * 24 * 3600) -> None:
    """Wait for every process of a ``jax.distributed`` job (no-op for one process)."""
    import jax

    if jax.process_count() == 1:
        return
    client = _client()
    if client is not None:
        client.wait_at_barrier(name, int(timeout_s * 1000))
        return
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def _share_chunk(chunk, name: str, out: Path, failure=None, timeout_s: float = 3600) -> int:
    """Process 0's chunk size for every process (through the distributed key-value store, so that
    hosts without a shared file system agree; else the manifest).  ``failure``: process 0's exception
    while preparing ``out``, re-raised there and reported to the other processes as ``ValueError``."""
    import jax

    client = _client() if jax.process_count() > 1 else None
    if jax.process_index() == 0:
        if client is not None:
            client.key_value_set(name, f"error:{failure}" if failure is not None else str(int(chunk)))
        if failure is not None:
            raise failure
        return int(chunk)
    if client is not None:
        value = client.blocking_key_value_get(name, int(timeout_s * 1000))
        if value.startswith("error:"):
            raise ValueError(f"process 0 could not start the sweep: {value[6:]}")
        return int(value)
    return int(store.read_manifest(out)["parameters"]["chunk"])


class _Progress:
    """Configurations done, configurations/s and time left: ``rich`` if installed, else plain lines."""

    def __init__(self, total: int, done: int, enabled: bool, label: str):
        self.total, self.done, self.enabled = total, done, enabled
        self.t0, self.start_done, self.last = time.perf_counter(), done, 0.0
        self.label = label
        self._rich = None
        if not enabled:
            return
        try:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[rate]} configs/s"), TimeElapsedColumn(),
                                  TextColumn("left"), TimeRemainingColumn(), transient=False)
            self._rich.start()
            self._task = self._rich.add_task(label, total=total, completed=done, rate="-")
        except ImportError:
            self._rich = None

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return (self.done - self.start_done) / dt if dt > 0 else 0.0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        rate = self.rate()
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done, rate=f"{rate:,.0f}")
            return
        now = time.perf_counter()
        if now - self.last > 2.0 or self.done >= self.total:
            self.last = now
            left = (self.total - self.done) / rate if rate > 0 else float("nan")
            print(f"[qbjax] {self.label}: {self.done:,}/{self.total:,} configs, {rate:,.0f} configs/s, "
                  f"{left:,.0f} s left", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()


def _prepare(out: Path, identity: dict, resume: bool, chunk_given: bool) -> dict | None:
    """Process 0: check ``out`` (existing sweep, resume compatibility); returns the old manifest."""
    old = store.read_manifest(out)
    if old is None:
        if out.exists() and any(p.name not in (store.DATA_DIR,) for p in out.iterdir()):
            raise store.StorageError(17, f"output directory {out} exists, is not empty and holds no qbjax "
                                         "sweep; choose another --out")
        return None
    if not resume:
        raise store.StorageError(17, f"output directory {out} already holds a sweep; pass --resume to "
                                     "continue it or choose another --out")
    params = old.get("parameters", {})
    for key in IDENTITY:
        if key == "chunk" and not chunk_given:
            continue
        if params.get(key) != identity[key]:
            raise ValueError(f"cannot resume {out}: {key} = {identity[key]!r} differs from the sweep's "
                             f"{key} = {params.get(key)!r}")
    return old


def run_sweep(out, points: int = 8, seed: int = 0, conventions: str = "physical", chunk: int | None = None,
              resume: bool = False, progress: bool = True, devices=None) -> Path:
    """Evaluate the seeded Table-I grid (``points**7`` configurations) into the dataset ``out``.

    Args:
        out: output directory (created): ``out/manifest.json`` and ``out/data/part-*.parquet``.
        points: values per grid axis (the paper: 8, i.e. 8^7 = 2,097,152 configurations).
        seed: seed of the grid (:func:`qbjax.sweep.table_one_axes`).
        conventions: ``"physical"`` (corrected generator) or ``"published"`` (printed Eq. (1)).
        chunk: configurations per part file and per device and step (default
            :func:`qbjax.sweep.runner.default_chunk`, 65,536 when memory allows); device memory is
            bounded by it.  Bit-identical datasets need the same chunk (it is in the manifest).
        resume: continue the sweep already in ``out`` (same points/seed/conventions; its chunk unless
            given): parts already written are kept, not recomputed.
        progress: show configurations/s and the time left.
        devices: local devices to shard each step over (default
            :func:`qbjax.sweep.runner.sweep_devices`: all local GPUs/TPUs; one device on CPU).

    Under ``jax.distributed`` each process computes its share of the chunks on its local devices and
    writes its own part files; process 0 writes the final manifest after all processes finish.
    Raises ``ValueError`` for bad arguments and :class:`qbjax.sweep.store.StorageError` (an
    ``OSError``) if ``out`` is not writable, not a sweep, or too small, before any compute.
    Returns ``Path(out)``.
    """
    t_start = time.perf_counter()
    _validate(points, seed, conventions, chunk)
    import jax

    from .. import _precision  # noqa: F401  (qbjax's float64 default)
    from .._info import environment

    if not jax.config.read("jax_enable_x64"):
        raise ValueError("the sweep needs float64: precision is 'single' (unset QBJAX_PRECISION=single)")

    out = Path(out)
    points, seed = int(points), int(seed)
    n = n_configs(points)
    devices = runner.sweep_devices(devices)
    n_dev = len(devices)
    pid, n_proc = jax.process_index(), jax.process_count()
    # barrier/key names: the same on every process (the arguments as given, not resolved paths, and the
    # number of sweeps this process has run before)
    _CALLS[0] += 1
    tag = hashlib.sha1(f"{out}|{points}|{seed}|{conventions}|{_CALLS[0]}".encode()).hexdigest()[:12]

    # -- agree on the sweep's identity (process 0 checks and writes the manifest first) ----------------
    identity = {"points": points, "seed": seed, "conventions": conventions,
                "chunk": None if chunk is None else min(int(chunk), n), "n_configs": n}
    failure = None
    if pid == 0:
        try:
            old = _prepare(out, identity, resume, chunk is not None)
            if identity["chunk"] is None:
                identity["chunk"] = (old or {}).get("parameters", {}).get("chunk") or runner.default_chunk(n, n_dev)
            store.check_storage(out, 0)
            manifest = dict(old or {})
            manifest.update({
                "command": "sweep",
                "status": "running",
                "parameters": {**identity, "n_chunks": runner.n_chunks(n, identity["chunk"]), "axes": list(AXES)},
                "columns": {c: ("int64" if c == "config_id" else "float64") for c in store.COLUMNS},
                "seed": seed,
                "started": manifest.get("started", store.now()),
                **environment(),
            })
            manifest["runs"] = list(manifest.get("runs", [])) + [{"started": store.now(), "resume": bool(resume)}]
            store.write_json_atomic(out / store.MANIFEST, manifest)
        except (ValueError, OSError) as err:  # tell the other processes instead of leaving them waiting
            failure = err
    chunk = _share_chunk(identity["chunk"], f"qbjax-sweep-chunk-{tag}", out, failure)
    _barrier(f"qbjax-sweep-start-{tag}")
    total_chunks = runner.n_chunks(n, chunk)

    def rows(k):
        a, b = runner.chunk_bounds(k, n, chunk)
        return b - a

    # -- this process's share, minus what is already on disk -------------------------------------------
    mine = runner.process_chunks(total_chunks, pid, n_proc)
    store.check_storage(out, 0)
    store.remove_stale_tmp(out, mine)
    done = store.existing_parts(out, rows)
    pending = [k for k in mine if k not in done]
    skipped = len(mine) - len(pending)
    store.check_storage(out, sum(rows(k) for k in pending))

    axes = table_one_axes(points, seed)
    from ..models.four_level import validate_parameters

    validate_parameters({k: v for k, v in axes.items() if k != "triplet"}
                        | dict(zip(("eps", "eps_b", "eps_a"), axes["triplet"].T)))

    t_compile = 0.0
    n_nonfinite = 0
    computed = 0
    bar = _Progress(sum(rows(k) for k in mine), sum(rows(k) for k in mine if k in done), progress,
                    f"sweep {points}^7 {conventions}" + (f" [process {pid}/{n_proc}]" if n_proc > 1 else ""))
    t_loop = time.perf_counter()
    try:
        if pending:
            compiled, batch, replicated, t_compile = runner.compiled_step(conventions, devices, chunk, points)
            axes_dev = runner.put_axes(axes, replicated)
            t_loop = bar.t0 = time.perf_counter()

            def flush(item):
                nonlocal n_nonfinite, computed
                step, ids, result = item
                host = {k: np.asarray(v).reshape(n_dev, chunk) for k, v in result.items()}
                ids = ids.reshape(n_dev, chunk)
                for d, k in enumerate(step):
                    m = rows(k)
                    cols = {c: host[c][d, :m] for c in host}
                    bad = np.zeros(m, dtype=bool)
                    for v in cols.values():
                        bad |= ~np.isfinite(v)
                    n_nonfinite += int(bad.sum())
                    store.write_part(out, k, cols, ids[d, :m])
                    computed += m
                    bar.update(m)

            prev = None
            for step in runner.steps(pending, n_dev):
                ids = runner.step_ids(step, n, chunk, n_dev)
                result = compiled(axes_dev, jax.device_put(ids, batch))  # dispatched asynchronously
                if prev is not None:
                    flush(prev)
                prev = (step, ids, result)
            if prev is not None:
                flush(prev)
    finally:
        bar.close()
    t_run = time.perf_counter() - t_loop
    stats = {
        "process_index": pid, "process_count": n_proc, "local_devices": [str(d) for d in devices],
        "local_devices_available": len(jax.local_devices()),
        "chunks": len(mine), "chunks_skipped_existing": skipped, "chunks_computed": len(pending),
        "rows_computed": computed, "rows_with_nonfinite_computed": n_nonfinite,
        "compile_s": round(t_compile, 3), "compute_write_s": round(t_run, 3),
        "configs_per_s": round(computed / t_run, 1) if t_run > 0 and computed else None,
        "wall_s": round(time.perf_counter() - t_start, 3),
    }
    if n_proc > 1:
        store.write_json_atomic(out / f"process-{pid:04d}.json", stats)
    _barrier(f"qbjax-sweep-end-{tag}")

    if pid == 0:
        parts = store.existing_parts(out)
        missing = [k for k in range(total_chunks) if k not in parts]
        import pyarrow.parquet as pq

        n_rows = sum(pq.read_metadata(p).num_rows for p in parts.values())
        manifest = store.read_manifest(out)
        procs = [stats]
        for q in range(1, n_proc):
            path = out / f"process-{q:04d}.json"
            if path.exists():
                procs.append(json.loads(path.read_text()))
        manifest.update({
            "status": "complete" if not missing and n_rows == n else "incomplete",
            "rows": n_rows,
            "parts": len(parts),
            "missing_chunks": missing[:100],
            "finished": store.now(),
            "timings_s": {"compile": stats["compile_s"], "compute_write": stats["compute_write_s"],
                          "wall": stats["wall_s"]},
            "configs_per_s": stats["configs_per_s"],
        })
        manifest["runs"][-1].update({"finished": store.now(), "processes": procs})
        store.write_json_atomic(out / store.MANIFEST, manifest)
    return out

