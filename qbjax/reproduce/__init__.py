"""`qbjax reproduce`: recompute the papers' figures and tables, one module a paper."""

from __future__ import annotations

import importlib
from pathlib import Path

# model name on the command line -> module in qbjax.reproduce with run(out_dir, quick, smoke) -> report path
MODELS = {
    "charger": "charger",
    "micromaser": "micromaser",
    "fourlevel": "fourlevel",
    "fourlevel-learn": "fourlevel_learn",
    "multi-cell": "multi_cell",
    "tavis-cummings": "tavis_cummings",
}


def run(model: str, out_dir, quick: bool = False, smoke: bool = False):
    """Reproduce one model into ``out_dir``; returns its report path.

    ``quick``: reduced grids (documented per model).  ``smoke``: the smallest sizes that still run every
    code path and write every figure and table (for CI; its numbers are not for comparison); it takes
    precedence over ``quick``.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)} or 'all'")
    module = importlib.import_module(f".{MODELS[model]}", __name__)
    if smoke:
        return module.run(out_dir, quick=True, smoke=True)
    return module.run(out_dir, quick=quick)


# measured seconds of each model's --quick run on 2 cores (longest first): the order in which
# run_all hands the models to its workers, so that the longest start first
COST = {"fourlevel-learn": 165, "tavis-cummings": 79, "fourlevel": 66, "micromaser": 63, "multi-cell": 45,
        "charger": 25}


def _run_timed(model: str, out_dir: str, quick: bool, smoke: bool, cache: str | None):
    """One model in a worker process: its own compilation-cache folder (two processes never write
    one cache), a heartbeat, and (model, seconds, report path)."""
    import time

    from .._cache import enable_compilation_cache
    from .._runs import heartbeat

    if cache is not None:
        enable_compilation_cache(Path(cache) / model)
    print(f"[qbjax] reproducing {model} -> {out_dir}", flush=True)
    t0 = time.perf_counter()
    with heartbeat(model):
        report = run(model, out_dir, quick=quick, smoke=smoke)
    return model, round(time.perf_counter() - t0, 3), report


def run_all(models, out: Path, *, quick: bool, smoke: bool, jobs: int, on_done):
    """Reproduce ``models`` into ``out/<model>`` in ``jobs`` worker processes (``jobs = 1``: in this
    process, one after the other), longest first (:data:`COST`).  Each model is independent: its
    own folder, report and manifest, and the same numbers whichever process computes it.
    ``on_done(model, seconds, report)`` is called as each finishes; returns {model: seconds}.
    """
    from .._cache import cache_dir

    order = sorted(models, key=lambda m: -COST.get(m, 0))
    timings = {}
    if jobs <= 1:
        for model in order:
            timings[model] = _finish(on_done, *_run_timed(model, str(out / model), quick, smoke, None))
        return timings
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    cache = cache_dir()
    if cache is not None:
        cache = str(cache / "reproduce")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        print(f"[qbjax] {len(order)} models in {jobs} processes", flush=True)
        futures = []
        for model in order:
            futures.append(pool.submit(_run_timed, model, str(out / model), quick, smoke, cache))
        try:
            for future in as_completed(futures):
                model, seconds, report = future.result()
                timings[model] = _finish(on_done, model, seconds, report)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return timings


def _finish(on_done, model, seconds, report):
    on_done(model, seconds, report)
    return seconds
