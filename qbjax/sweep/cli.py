"""``qbjax sweep`` and ``qbjax filter`` subcommands (wired into :mod:`qbjax.cli` by ``register``)."""

from __future__ import annotations

import sys
from pathlib import Path

from .._runs import default_out, int_at_least


def _print_counts(counts: dict, paper: bool = True) -> None:
    """The rows left after each rule; ``paper``: also the paper's counts (for the paper rules)."""
    from .filter import PAPER_COUNTS

    total = counts["total"]
    width = max(16, *map(len, counts))
    print("[qbjax] filter counts (rows left after each rule):")
    for name, n in counts.items():
        print(f"    {name:<{width}s} {n:>12,d}  ({100.0 * n / total if total else 0:.2f}%)")
    if paper:
        print("    paper: " + " -> ".join(f"{v:,d}" for v in PAPER_COUNTS.values())
              + f"  ({100.0 * PAPER_COUNTS['final'] / PAPER_COUNTS['total']:.2f}% kept)")


def _cmd_sweep(args) -> int:
    from .filter import filter_dataset
    from .run import run_sweep
    from .store import read_manifest

    out = Path(args.out) if args.out else default_out("sweep")
    try:
        run_sweep(out, points=args.points, seed=args.seed, conventions=args.conventions, chunk=args.chunk,
                  resume=args.resume, progress=not args.no_progress)
        m = read_manifest(out)
        rate = m.get("configs_per_s")
        timing = (f"compile {m['timings_s']['compile']:.1f} s, compute+write {m['timings_s']['compute_write']:.1f} s, "
                  f"{rate:,.0f} configs/s" if rate else "nothing left to compute")
        print(f"[qbjax] sweep {m['status']}: {m['rows']:,} rows in {m['parts']} parts -> {out}  ({timing})", flush=True)
        if args.filter and m["status"] == "complete":
            dst = out / "filtered"
            counts = filter_dataset(out, dst)
            _print_counts(counts)
            print(f"[qbjax] filtered dataset -> {dst}")
    except (ValueError, OSError) as err:
        print(f"qbjax sweep: error: {err}", file=sys.stderr)
        return 2
    return 0


def _cmd_filter(args) -> int:
    from .filter import filter_dataset

    out = Path(args.out) if args.out else default_out("filter")
    try:
        counts = filter_dataset(args.dataset, out, where=args.where, progress=True)
    except (ValueError, OSError) as err:
        print(f"qbjax filter: error: {err}", file=sys.stderr)
        return 2
    _print_counts(counts, paper=args.where is None)
    print(f"[qbjax] filtered dataset -> {out}")
    return 0


def register(subparsers) -> None:
    """Add ``qbjax sweep`` and ``qbjax filter`` to the CLI's subparsers."""
    p = subparsers.add_parser("sweep", help="the four-level battery's Table-I grid to a Parquet dataset")
    p.add_argument("--points", type=int_at_least("--points", 1), default=8,
                   help="values per parameter axis: points^7 configurations (default 8: 2,097,152)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="grid seed (default 0)")
    p.add_argument("--conventions", choices=["physical", "published"], default="physical",
                   help="corrected generator (physical, default) or the printed Eq. (1) (published)")
    p.add_argument("--chunk", type=int_at_least("--chunk", 1), default=None,
                   help="configurations per part file and per device step (default: from free memory, "
                        "at most 65536)")
    p.add_argument("--out", help="output directory (default runs/sweep-<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out")
    p.add_argument("--filter", action="store_true", help="then apply the paper's filters into OUT/filtered")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_sweep)

    p = subparsers.add_parser("filter", help="keep the rows of a dataset that pass rules: the paper's filters (finite, "
                                             "E0 > 1e-12, |j0_i| > 1e-12) or --where expressions")
    p.add_argument("dataset", help="a dataset directory (manifest.json, data/part-*.parquet)")
    p.add_argument("--out", help="output directory (default runs/filter-<timestamp>)")
    p.add_argument("--where", action="append", metavar="EXPR",
                   help="a rule over the dataset's columns, e.g. 'E0 > 1e-12 and ratio >= 1' (repeatable: applied "
                        "in order, count after each; operators: comparisons, and/or/not, + - * / **, abs(), sqrt(), "
                        "log(), ...; NaN compares false). Default: the paper's rules (four-level datasets only)")
    p.set_defaults(func=_cmd_filter)
