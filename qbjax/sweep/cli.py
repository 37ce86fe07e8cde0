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


_TABLE_ONE_OPTIONS = {"points": 8, "seed": 0, "conventions": "physical"}


def _table_one(args) -> bool:
    """True for the Table-I sweep: no model (or four-level) and neither --grid nor --function."""
    return args.target in (None, "four-level") and args.grid is None and args.function is None


def _target(args):
    """``(fn, grid, validate, name)`` of a ``--grid`` / ``--function`` sweep (ValueError naming the problem)."""
    from .gridfile import import_function, read_grid_file

    if args.grid is None:
        raise ValueError(f"{'qbjax sweep ' + args.target if args.target else '--function'} needs --grid GRID.toml "
                         "(the configurations to sweep; see `qbjax sweep --help`)")
    given = [k for k, v in _TABLE_ONE_OPTIONS.items() if getattr(args, k) is not None]
    if given:
        raise ValueError(f"--{given[0]} belongs to the Table-I sweep; a --grid file gives the configurations")
    gf = read_grid_file(args.grid)
    model = args.target or gf.model
    function = args.function or gf.function
    if args.target and gf.model and args.target != gf.model:
        raise ValueError(f"the command names model {args.target} but grid file {gf.path} has model = {gf.model!r}")
    if model and function:
        raise ValueError(f"give a model or a function, not both (model {model}, function {function})")
    if function:
        return import_function(function), gf.grid, None, function
    if not model:
        raise ValueError(f"grid file {gf.path} names no target: add model = \"NAME\" or function = \"pkg.module:fn\", "
                         "or pass MODEL / --function")
    from .models import sweep_model

    sm = sweep_model(model)
    known = set(sm.parameters) | set(sm.static)
    from ..grid import Product

    where = "axes" if isinstance(gf.grid, Product) else "ranges" if gf.grid.how.get("source") == "sample" else "table"
    for section, names in ((where, gf.grid.names),
                           ("fixed", tuple(gf.grid.fixed))):
        for name in names:
            if name not in known:
                raise ValueError(f"grid file {gf.path}: {section}.{name}: {model} has no parameter {name} "
                                 f"(parameters: {', '.join(sm.parameters)}; fixed only: {', '.join(sm.static) or '-'})")
    for name in gf.grid.names:
        if name in sm.static:
            raise ValueError(f"grid file {gf.path}: {name} of {model} must be fixed ([fixed] {name} = ...), "
                             "not swept")
    fixed = dict(gf.grid.fixed)
    features = sm.function(fixed)
    taken = set(gf.grid.names) | set(fixed)

    def fn(config):  # a model's features may repeat its parameters: the parameter columns hold them
        return {k: v for k, v in features(config).items() if k not in taken}

    def validate(params):
        sm.validate({k: v for k, v in params.items() if k in gf.grid.names}, fixed)

    return fn, gf.grid, validate, f"qbjax.models:{model}"


def _cmd_sweep(args) -> int:
    from .filter import filter_dataset
    from .function import sweep
    from .run import run_sweep
    from .store import read_manifest

    out = Path(args.out) if args.out else default_out("sweep")
    try:
        if _table_one(args):
            opts = {k: v if getattr(args, k) is None else getattr(args, k) for k, v in _TABLE_ONE_OPTIONS.items()}
            run_sweep(out, **opts, chunk=args.chunk, resume=args.resume, progress=not args.no_progress)
        else:
            if args.filter:
                raise ValueError("--filter applies the paper's rules to the Table-I sweep; for this dataset run "
                                 "`qbjax filter DIR --where EXPR` afterwards")
            fn, grid, validate, name = _target(args)
            sweep(fn, grid, out, chunk=args.chunk, resume=args.resume, progress=not args.no_progress,
                  validate=validate, name=name)
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
    from .gridfile import MODEL_NAMES as MODELS

    p = subparsers.add_parser(
        "sweep", help="a parameter sweep to a Parquet dataset (default: the four-level battery's Table-I grid)",
        description="Without MODEL, --grid or --function: the four-level battery's seeded Table-I grid "
                    "(--points, --seed, --conventions).  With a grid file: MODEL (or model = ... in the file) "
                    "or --function pkg.module:fn over the file's [axes], [sample]/[ranges] or [table] grid "
                    "with its [fixed] parameters.  Resumable (--resume), sharded over local devices, "
                    "one Parquet part per chunk.")
    p.add_argument("target", nargs="?", metavar="MODEL", choices=sorted(MODELS),
                   help=f"a built-in model: {', '.join(sorted(MODELS))} (or model = ... in the grid file)")
    p.add_argument("--grid", metavar="GRID.toml", help="grid file: [fixed], and [axes] or [sample]+[ranges] or [table]")
    p.add_argument("--function", metavar="MODULE:NAME",
                   help="sweep your own function of one configuration (dict -> dict of outputs)")
    p.add_argument("--points", type=int_at_least("--points", 1), default=None,
                   help="Table-I grid: values per parameter axis, points^7 configurations (default 8: 2,097,152)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=None, help="Table-I grid seed (default 0)")
    p.add_argument("--conventions", choices=["physical", "published"], default=None,
                   help="Table-I grid: corrected generator (physical, default) or the printed Eq. (1) (published)")
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
