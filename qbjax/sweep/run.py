"""The sweep engine: a :class:`~qbjax.sweep.job.Job` to a Parquet dataset (chunked, sharded,
resumable); :func:`run_sweep` (the Table-I grid) and :func:`qbjax.sweep.sweep` (any function) drive it.

See :mod:`qbjax.sweep.runner` (chunks, devices, processes) and :mod:`qbjax.sweep.store` (layout).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import lock, runner, store
from .identity import FORMAT_VERSION, changes, fingerprint, manifest_identity
from .job import Job, table_one_job

__all__ = ["run_job", "run_sweep"]

_CALLS = [0]


def check_chunk(chunk) -> None:
    """ValueError unless ``chunk`` is None or an integer >= 1."""
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk must be an integer >= 1 (configurations per part file); got chunk = {chunk!r}")


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
    check_chunk(chunk)


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


def _say(message: str) -> None:
    """One line on stderr."""
    print(f"[qbjax] sweep: {message}", file=sys.stderr, flush=True)


def _prepare(out: Path, resume: bool) -> dict | None:
    """Process 0, holding the lock: the manifest of the sweep already in ``out`` (None: a new sweep).

    Refuses part files without a manifest (they cannot be checked), a non-empty directory that holds
    no sweep, and an existing sweep without ``resume``."""
    old = store.read_manifest(out)
    if old is None:
        parts, others = store.list_parts(out)
        if parts or others:
            raise store.DatasetError(f"output directory {out} holds part files but no {store.MANIFEST}: restore "
                                     f"its manifest, or delete {out / store.DATA_DIR} to start a new sweep there")
        ours = (store.DATA_DIR, lock.LOCK, lock.HOLDER)  # and a killed writer's temporary manifest
        if any(p.name not in ours and not p.name.startswith(f".{store.MANIFEST}.") for p in out.iterdir()):
            raise store.StorageError(17, f"output directory {out} exists, is not empty and holds no qbjax "
                                         "sweep; choose another --out")
        return None
    if not resume:
        raise store.StorageError(17, f"output directory {out} already holds a sweep; pass --resume to "
                                     "continue it or choose another --out")
    return old


def _identity(out: Path, old: dict | None, job: Job, chunk, n_dev: int) -> dict:
    """The requested sweep's identity (chunk: as given, else the old sweep's, else the default); when
    resuming it must equal the old sweep's, else a ``DatasetError`` names every difference."""
    if chunk is None:
        chunk = manifest_identity(old).get("chunk") if old is not None else None
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            chunk = runner.default_chunk(job.n, n_dev)
    ident = job.identity(min(int(chunk), job.n))
    if old is not None:
        diff = changes(manifest_identity(old), ident)
        if diff:
            raise store.DatasetError(f"cannot resume {out}: it holds another sweep ({'; '.join(diff)}); resume "
                                     "with the dataset's parameters or choose another --out")
    return ident


def _start(out: Path, ident: dict, old: dict | None, resume: bool, job: Job) -> None:
    """Process 0: write the "running" manifest (identity, fingerprint, parameters; the old runs kept)."""
    from .._info import environment

    store.check_storage(out, 0)
    manifest = dict(old or {})
    params = job.parameters(ident)
    extra = {k: ident[k] for k in ("seed",) if k in ident}
    manifest.update({
        "command": "sweep",
        "status": "running",
        "format_version": FORMAT_VERSION,
        "fingerprint": fingerprint(ident),
        "identity": ident,
        "parameters": {**params, "n_chunks": runner.n_chunks(ident["n_configs"], ident["chunk"])},
        "columns": ident["columns"],
        **extra,
        "started": manifest.get("started", store.now()),
        **environment(),
    })
    manifest["runs"] = list(manifest.get("runs", [])) + [{"started": store.now(), "resume": bool(resume)}]
    store.write_json_atomic(out / store.MANIFEST, manifest)


def _expected(job: Job, chunk: int) -> store.Expected:
    """What every part of this sweep must be (the same on every process)."""
    ident = job.identity(int(chunk))
    return store.Expected(fingerprint(ident), ident, int(chunk), int(job.n), exact=True)


def _pending(out: Path, mine: list[int], exp: store.Expected, first: bool) -> tuple[list[int], int]:
    """``(chunks to compute, chunks kept)`` of this process: a chunk is kept only if its part passes
    :func:`qbjax.sweep.store.read_part` (identity, chunk, config_ids, every column read); a failing
    part (and, on process 0, a part file no chunk owns) is deleted with one line naming it."""
    store.check_storage(out, 0)
    store.remove_stale_tmp(out, mine)
    for path, why in store.stray_parts(out, exp) if first else []:
        _say(f"deleting part {path}: {why}")
        path.unlink(missing_ok=True)
    good, bad = store.sort_parts(out, mine, exp)
    for path, why in bad.values():
        _say(f"recomputing {why}")
        path.unlink(missing_ok=True)
    return [k for k in mine if k not in good], len(good)


def _nonfinite(cols: dict, rows: int) -> np.ndarray:
    """Rows with a NaN or inf in any floating-point column."""
    bad = np.zeros(rows, dtype=bool)
    for v in cols.values():
        if np.issubdtype(v.dtype, np.floating):
            bad |= ~np.isfinite(v).reshape(rows, -1).all(axis=1)
    return bad


def _compute(out: Path, exp: store.Expected, pending: list[int], devices: tuple, job: Job,
             bar: _Progress) -> dict:
    """Evaluate the ``pending`` chunks, one per device and step, and write their parts."""
    import jax

    ident, n_dev, chunk, n = exp.identity, len(devices), exp.chunk, exp.n_configs
    counts = {"rows": 0, "nonfinite": 0, "compile_s": 0.0}
    t_loop = time.perf_counter()
    if pending:
        compiled, batch, replicated, counts["compile_s"] = job.compile(devices, chunk)
        data_dev = runner.put_axes(job.data, replicated)
        t_loop = bar.t0 = time.perf_counter()

        def flush(item):
            step, ids, result = item
            host = {k: np.asarray(v).reshape(n_dev, chunk, *np.shape(v)[1:]) for k, v in result.items()}
            ids = ids.reshape(n_dev, chunk)
            for d, k in enumerate(step):
                a, b = exp.bounds(k)
                cols = {c: host[c][d, : b - a] for c in host}
                if job.host_columns is not None:
                    cols.update(job.host_columns(ids[d, : b - a]))
                counts["nonfinite"] += int(_nonfinite(cols, b - a).sum())
                store.write_part(out, k, cols, ids[d, : b - a], exp.fingerprint, (a, b), ident)
                counts["rows"] += b - a
                bar.update(b - a)

        prev = None
        for step in runner.steps(pending, n_dev):
            ids = runner.step_ids(step, n, chunk, n_dev)
            result = compiled(data_dev, jax.device_put(ids, batch))  # dispatched asynchronously
            if prev is not None:
                flush(prev)
            prev = (step, ids, result)
        if prev is not None:
            flush(prev)
    counts["loop_s"] = time.perf_counter() - t_loop
    return counts


def _finish(out: Path, exp: store.Expected, stats: dict, n_proc: int) -> None:
    """Process 0, after every process: count the parts that pass the footer checks of
    :func:`qbjax.sweep.store.read_part` (identity, chunk, row count) and write the final manifest."""
    parts, _ = store.list_parts(out)
    present = []
    for k in range(exp.n_chunks):
        if k in parts:
            try:
                store.read_part(parts[k], k, exp, full=False)
                present.append(k)
            except store.PartError as err:
                _say(f"not counted: {err}")
    missing = sorted(set(range(exp.n_chunks)) - set(present))
    manifest = store.read_manifest(out)
    procs = [stats]
    for q in range(1, n_proc):
        path = out / f"process-{q:04d}.json"
        if path.exists():
            procs.append(json.loads(path.read_text()))
    manifest.update({
        "status": "incomplete" if missing else "complete",
        "rows": sum(b - a for a, b in map(exp.bounds, present)),
        "parts": len(present),
        "missing_chunks": missing[:100],
        "finished": store.now(),
        "timings_s": {"compile": stats["compile_s"], "compute_write": stats["compute_write_s"],
                      "wall": stats["wall_s"]},
        "configs_per_s": stats["configs_per_s"],
    })
    manifest["runs"][-1].update({"finished": store.now(), "processes": procs})
    store.write_json_atomic(out / store.MANIFEST, manifest)


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
        resume: continue the sweep already in ``out`` (same identity, :mod:`qbjax.sweep.identity`; its
            chunk unless given): parts that pass :func:`qbjax.sweep.store.read_part` are kept; a
            foreign, corrupt or misplaced part is recomputed (one line on stderr names it).
        progress: show configurations/s and the time left.
        devices: local devices to shard each step over (default
            :func:`qbjax.sweep.runner.sweep_devices`: all local GPUs/TPUs; one device on CPU).

    Process 0 holds the lock of ``out`` (:mod:`qbjax.sweep.lock`) for the whole run: a second run on
    ``out`` is refused at once.  Under ``jax.distributed`` each process computes its share of the
    chunks on its local devices and writes its own part files; process 0 writes the final manifest
    after all processes finish.  Raises ``ValueError`` for bad arguments, for a directory held by
    another run, for part files without a manifest and for a resume of another sweep, and
    :class:`qbjax.sweep.store.StorageError` (an ``OSError``) if ``out`` is not writable, not a sweep,
    or too small, before any compute.  Returns ``Path(out)``.
    """
    t_start = time.perf_counter()
    _validate(points, seed, conventions, chunk)
    import jax

    from .. import _precision  # noqa: F401  (qbjax's float64 default)

    if not jax.config.read("jax_enable_x64"):
        raise ValueError("the sweep needs float64: precision is 'single' (unset QBJAX_PRECISION=single)")

    return run_job(table_one_job(int(points), int(seed), conventions), out, chunk=chunk, resume=resume,
                   progress=progress, devices=devices, t_start=t_start)


def run_job(job: Job, out, chunk: int | None = None, resume: bool = False, progress: bool = True, devices=None,
            t_start: float | None = None) -> Path:
    """Run ``job`` (:mod:`qbjax.sweep.job`) into the dataset ``out``: the engine behind
    :func:`run_sweep` and :func:`qbjax.sweep.sweep` (arguments and errors as documented there).

    The job's up-front checks run first (nothing is created for a grid they reject); then process 0
    locks ``out``, checks it and writes the "running" manifest, every process computes its share of
    the chunks that have no valid part yet, and process 0 writes the final manifest.
    """
    import jax

    t_start = time.perf_counter() if t_start is None else t_start
    check_chunk(chunk)
    job.validate()
    out = Path(out)
    devices = runner.sweep_devices(devices)
    pid, n_proc = jax.process_index(), jax.process_count()
    # barrier/key names: the same on every process (the job and output as given, not resolved paths,
    # and the number of sweeps this process has run before)
    _CALLS[0] += 1
    tag = hashlib.sha1(f"{out}|{job.key}|{_CALLS[0]}".encode()).hexdigest()[:12]

    with contextlib.ExitStack() as held:
        # -- process 0 locks out, checks it and writes the manifest; the others learn its chunk size ---
        failure, first_chunk = None, None
        if pid == 0:
            try:
                held.enter_context(lock.locked(out, "sweep"))
                old = _prepare(out, resume)
                ident = _identity(out, old, job, chunk, len(devices))
                _start(out, ident, old, resume, job)
                first_chunk = ident["chunk"]
            except (ValueError, OSError) as err:  # tell the other processes instead of leaving them waiting
                failure = err
        chunk = _share_chunk(first_chunk, f"qbjax-sweep-chunk-{tag}", out, failure)
        _barrier(f"qbjax-sweep-start-{tag}")
        exp = _expected(job, chunk)

        # -- this process's share, minus the parts already on disk that pass every check ---------------
        mine = runner.process_chunks(exp.n_chunks, pid, n_proc)
        pending, skipped = _pending(out, mine, exp, pid == 0)
        store.check_storage(out, sum(b - a for a, b in map(exp.bounds, pending)), store.bytes_per_row(exp.columns))
        total = sum(b - a for a, b in map(exp.bounds, mine))
        bar = _Progress(total, total - sum(b - a for a, b in map(exp.bounds, pending)), progress,
                        job.label + (f" [process {pid}/{n_proc}]" if n_proc > 1 else ""))
        try:
            counts = _compute(out, exp, pending, devices, job, bar)
        finally:
            bar.close()
        t_run, computed = counts["loop_s"], counts["rows"]
        stats = {
            "process_index": pid, "process_count": n_proc, "local_devices": [str(d) for d in devices],
            "local_devices_available": len(jax.local_devices()),
            "chunks": len(mine), "chunks_skipped_existing": skipped, "chunks_computed": len(pending),
            "rows_computed": computed, "rows_with_nonfinite_computed": counts["nonfinite"],
            "compile_s": round(counts["compile_s"], 3), "compute_write_s": round(t_run, 3),
            "configs_per_s": round(computed / t_run, 1) if t_run > 0 and computed else None,
            "wall_s": round(time.perf_counter() - t_start, 3),
        }
        if n_proc > 1:
            store.write_json_atomic(out / f"process-{pid:04d}.json", stats)
        _barrier(f"qbjax-sweep-end-{tag}")
        if pid == 0:
            _finish(out, exp, stats, n_proc)
    return out
