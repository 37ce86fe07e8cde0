"""`qbjax reproduce fourlevel-learn`: paper 000 Sec. III end to end (sweep -> filter -> learn).

For both conventions (``published``: the printed Eq. (1) the paper learned from; ``physical``: the
corrected generator) the seeded Table-I grid is swept (:func:`qbjax.sweep.run_sweep`), filtered by the
paper's rules (:func:`qbjax.sweep.filter_dataset`) and learned
(:func:`qbjax.learn.cli.run_learn`), and one ``report.md`` puts the two side by side with the
paper's Tables III and VI.

Modes: ``quick`` = a 5^7 = 78,125-configuration grid and :meth:`LearnOptions.quick` (6,000 training
rows, default MLP configuration, two-point learning curves); full = the paper's 8^7 = 2,097,152 grid
(1,676,288 published / 307,200 physical rows after filtering) with the quick learning settings but
10,000 training rows, learning curves to 5,000 rows and importance on 6,000 rows (``FULL`` below).
Measured on the shared 2-core CPU, 2026-11-24: quick 164 s wall at load average ~3 (sweep + filter
23 s; 950 s at load ~10 with an earlier three-point-curve setting); full (load 5-10): sweep + filter 590 s, learning 815 s (651 s
published + 126 s physical + figures; 380 s CPU).
``smoke`` (CI): a 3^7 = 2,187-configuration grid and ``SMOKE`` below (600 training rows, 3 epochs,
5 trees, one-point learning curves, five mappings): rough numbers, every table and figure.
Larger training sizes (the paper's 1-6 x 10^5 rows, the Table II search) are
``qbjax learn DATASET --size N --trials T`` on the filtered datasets this writes.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .._runs import md_table
from ..sweep import filter_dataset, run_sweep

CONVS = ("published", "physical")
QUICK_POINTS, FULL_POINTS = 5, 8
FULL = {"size": 10_000, "curve_max": 5_000, "importance_rows": 6_000}
SMOKE_POINTS = 3
#: the paper's row counts (Sec. III): its 8^7 grid, after removing failed / non-finite rows, after filtering
PAPER_ROWS = {"total": 2_097_152, "finite": 2_085_878, "filtered": 1_654_159}
SMOKE = {"size": 600, "search_rows": 300, "max_epochs": 3, "patience": 2, "rf_estimators": 5, "curve_max": 400,
         "curve_points": 1, "importance_rows": 400, "importance_repeats": 1,
         # one mapping per figure and per claim of the report (f_T vs f_C, f5, f6 vs f8); curves: one
         # manual and one selected mapping (Figs. 3 and 6)
         "mappings": ("f_T", "f_C", "f5", "f6", "f8"), "curve_mappings": ("f_C", "f6")}


def _dataset(out: Path, conventions: str, points: int, seed: int) -> tuple[Path, dict, str]:
    """Sweep + filter one convention; returns (filtered dataset, counts, how)."""
    raw, filt = out / f"raw-{conventions}", out / conventions
    for p in (raw, filt):
        if p.exists():
            shutil.rmtree(p)
    run_sweep(raw, points=points, seed=seed, conventions=conventions, progress=False)
    counts = filter_dataset(raw, filt)
    shutil.rmtree(raw)  # the raw grid is not needed by the report (counts are kept)
    return filt, counts, "qbjax.sweep"


def run(out_dir, quick: bool = False, smoke: bool = False) -> Path:
    from ..learn.cli import run_learn
    from ..learn.pipeline import LearnOptions
    from .report import smoke_banner

    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = SMOKE_POINTS if smoke else QUICK_POINTS if quick else FULL_POINTS
    seed = 0
    datasets, rows, notes = [], [], []
    for conv in CONVS:
        t0 = time.perf_counter()
        print(f"[fourlevel-learn] sweep + filter {conv}: {points}^7 = {points**7:,} configurations", flush=True)
        path, counts, how = _dataset(out / "data", conv, points, seed)
        dt = time.perf_counter() - t0
        datasets.append(path)
        rows.append([conv, f"{points}^7", *(f"{int(v):,}" for v in counts.values()), f"{dt:.1f} ({how})"])
        notes.append(counts)
    t_sweep = time.perf_counter() - t_start
    if smoke:
        opts = LearnOptions.quick(seed=seed, **SMOKE)
    else:
        opts = LearnOptions.quick(seed=seed) if quick else LearnOptions.quick(seed=seed, **FULL)
    mode = 'smoke' if smoke else 'quick' if quick else 'full'
    keys = list(notes[0].keys())
    # the paper's row: its total and finite counts under the first two columns, its filtered count
    # under the last rule (the paper gives no count per rule)
    paper = {keys[0]: PAPER_ROWS["total"], keys[1]: PAPER_ROWS["finite"], keys[-1]: PAPER_ROWS["filtered"]}
    paper_row = ["paper", "8^7", *(f"{paper[k]:,}" if k in paper else "-" for k in keys), "-"]
    extra = ["## Sweep and filter (this run)", "",
             *md_table(["conventions", "grid", *keys, "sweep + filter (s)"], [paper_row, *rows]),
             (f"Mode: {mode} ({points}^7 grid). Sweep + filter of both conventions "
              f"took {t_sweep:.1f} s; the learning time per dataset is in the Timings table below. The paper "
              f"reports {PAPER_ROWS['finite']:,} rows after removing failed/non-finite ones and "
              f"{PAPER_ROWS['filtered']:,} after filtering.")]
    # smoke: no per-step progress (CI logs; and learn.Progress binds sys.stderr at import, which an
    # in-process caller such as pytest's capture may have closed since)
    report = run_learn(datasets, out, names=list(CONVS), options=opts, extra=extra, progress=not smoke)
    total = time.perf_counter() - t_start
    with report.open("a") as fh:
        fh.write(f"\nTotal wall time of `qbjax reproduce fourlevel-learn{'' if mode == 'full' else ' --' + mode}`: "
                 f"{total:.1f} s (sweep + filter {t_sweep:.1f} s).\n")
    return smoke_banner(report) if smoke else report
