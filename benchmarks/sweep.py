"""Benchmark: `qbjax sweep` on the full 8^7 Table-I grid vs the paper's per-configuration NumPy method.

For each conventions (default: physical, then published) it runs :func:`qbjax.sweep.run_sweep` into a
fresh directory (compile, compute and the Parquet writes, every column) and reports the wall time,
configurations/s and the peak resident memory of this process (``resource.getrusage``); then the
paper-000 filter counts.  The paper's method (``benchmarks/four_level.py``: NumPy, one configuration at
a time, eigenvalues on a finite-difference stencil) runs on a seeded sample of grid configurations;
its time is extrapolated to the full grid and compared (ratio), and its values are checked against the
sweep's on that sample.  Prints the lines to paste into ``benchmarks/RESULTS.md`` (section ``## sweep``).

    python benchmarks/sweep.py [--points 8] [--conventions physical published] [--sample 300]
                               [--chunk N] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _load() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=8, help="values per axis (default 8: 8^7 configurations)")
    ap.add_argument("--conventions", nargs="+", default=["physical", "published"],
                    choices=["physical", "published"])
    ap.add_argument("--sample", type=int, default=300, help="configurations for the NumPy method (default 300)")
    ap.add_argument("--chunk", type=int, default=None, help="sweep chunk (default: run_sweep's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where to write the datasets (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the datasets")
    ap.add_argument("--no-filter", action="store_true", help="skip the filter counts")
    args = ap.parse_args(argv)

    import jax
    from four_level import cpu_model, paper_features

    import qbjax  # noqa: F401
    from qbjax.sweep import (
        filter_dataset,
        n_configs,
        read_dataset,
        run_sweep,
        table_one_axes,
    )
    from qbjax.sweep.grid import config_ids_to_params
    from qbjax.sweep.store import read_manifest

    n = n_configs(args.points)
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="qbjax-sweep-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    lines = [
        (f"machine: {cpu_model()}, {os.cpu_count()} CPU cores; devices {[str(d) for d in jax.devices()]}; "
         f"backend {jax.default_backend()}; jax {jax.__version__}; float64"),
        f"grid: points = {args.points} ({n:,} configurations), seed = {args.seed}; load average at start {_load()}",
    ]
    print(lines[0], flush=True)
    print(lines[1], flush=True)
    sweep_rate = {}
    results = {}
    for conv in args.conventions:
        out = base / f"sweep-{conv}"
        if out.exists():
            shutil.rmtree(out)
        load0 = _load()
        t0 = time.perf_counter()
        run_sweep(out, points=args.points, seed=args.seed, conventions=conv, chunk=args.chunk, progress=False)
        wall = time.perf_counter() - t0
        m = read_manifest(out)
        proc = m["runs"][-1]["processes"][0]
        size = sum(p.stat().st_size for p in (out / "data").glob("part-*.parquet"))
        sweep_rate[conv] = (n / wall, proc["configs_per_s"] or float("nan"))
        lines.append(
            f"qbjax sweep, {conv} ({n:,} configs, chunk {m['parameters']['chunk']}, {m['parts']} parts, "
            f"{size / 2**20:,.0f} MiB Parquet): wall {wall:.1f} s (compile {proc['compile_s']:.1f} s + compute "
            f"and write {proc['compute_write_s']:.1f} s) -> {n / wall:,.0f} configs/s end to end, "
            f"{proc['configs_per_s'] or 0:,.0f} configs/s after compilation; peak RSS so far "
            f"{_peak_rss_mib():,.0f} MiB; load average before/after {load0} / {_load()}")
        print(lines[-1], flush=True)
        if not args.no_filter:
            t0 = time.perf_counter()
            counts = filter_dataset(out, base / f"filtered-{conv}")
            tf = time.perf_counter() - t0
            lines.append(f"filter, {conv}: " + " -> ".join(f"{v:,}" for v in counts.values())
                         + f" (total, finite, E0 > 1e-12, |j0_i| > 1e-12; {100 * counts[list(counts)[-1]] / n:.2f}% "
                         f"kept; {tf:.1f} s); paper 2,097,152 -> 2,085,878 -> 1,654,159 (78.88% kept)")
            print(lines[-1], flush=True)
        results[conv] = out

    # the paper's method (physical matrix, as in benchmarks/four_level.py) on a seeded sample
    names = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "eps_b", "eps_a")
    axes = table_one_axes(args.points, args.seed)
    ids = np.sort(np.random.default_rng(12345).choice(n, size=min(args.sample, n), replace=False))
    p = config_ids_to_params(axes, ids)
    _ = paper_features(tuple(float(p[k][0]) for k in names))  # warm-up
    load0 = _load()
    t0 = time.perf_counter()
    ref = [paper_features(tuple(float(p[k][i]) for k in names)) for i in range(len(ids))]
    t_np = time.perf_counter() - t0
    np_rate = len(ids) / t_np
    lines.append(f"paper's method, NumPy loop ({len(ids)} grid configs): {t_np:.2f} s -> {np_rate:,.1f} configs/s; "
                 f"extrapolated to {n:,} configs: {n / np_rate:,.0f} s ({n / np_rate / 3600:.2f} h); "
                 f"load average {load0}")
    print(lines[-1], flush=True)
    for conv, (rate, rate_run) in sweep_rate.items():
        lines.append(f"ratio (qbjax sweep {conv} / NumPy paper method): {rate / np_rate:,.0f}x end to end "
                     f"(compile and Parquet writes included), {rate_run / np_rate:,.0f}x after compilation")
        print(lines[-1], flush=True)
    if "physical" in results:
        t = read_dataset(results["physical"])
        sub = t.take(ids)
        worst = {}
        for key in ("E", "E0", "W", "j1", "j2"):
            a = sub.column(key).to_numpy()
            b = np.array([r[key] for r in ref])
            ok = np.isfinite(a) & np.isfinite(b)
            scale = np.maximum(np.abs(b[ok]), 1e-12) if key.startswith("j") else 1.0
            worst[key] = float(np.max(np.abs(a[ok] - b[ok]) / scale)) if ok.any() else float("nan")
        lines.append("agreement on the sample (physical): max |dE| = {E:.1e}, max |dE0| = {E0:.1e}, max |dW| = "
                     "{W:.1e}, max rel. d j1 = {j1:.1e}, j2 = {j2:.1e} (finite differences on the NumPy side)"
                     .format(**worst))
        print(lines[-1], flush=True)
        del t, sub
    print(f"peak RSS of the benchmark process: {_peak_rss_mib():,.0f} MiB", flush=True)
    print("\n--- for benchmarks/RESULTS.md ---")
    print("## sweep\n")
    print(f"`python benchmarks/sweep.py --points {args.points}` ({time.strftime('%Y-%m-%d %H:%M %Z')})\n")
    for line in lines:
        print(f"- {line}")
    if not args.keep and not args.out:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
