"""``qbjax learn DATASET [DATASET ...]``: the ergotropy-regime learning pipeline (paper 000 Sec. III).

Several datasets (e.g. the published and the physical conventions) are learned one after the other
and reported side by side in one ``report.md``; each dataset's figures and ``results.json`` go to
``OUT/<name>/``.
"""

from __future__ import annotations

import time
from pathlib import Path

from .._runs import default_out, int_at_least, write_manifest

__all__ = ["register", "run_learn"]


def run_learn(datasets, out, names=None, options=None, progress: bool = True, extra=None) -> Path:
    """Learn every dataset, draw its figures, write ``out/report.md`` and ``out/manifest.json``.

    Every dataset is checked first (:func:`~qbjax.learn.pipeline.check_dataset`, and its ratio
    column by :func:`~qbjax.learn.pipeline.check_ratio`), so that a bad one raises ``ValueError``
    before any fit and before ``out`` is created.
    """
    from .data import load_dataset
    from .figures import save_all
    from .pipeline import (
        LearnOptions,
        Progress,
        check_dataset,
        check_ratio,
        learn,
        n_steps,
    )
    from .report import write_report, write_results

    out = Path(out)
    opts = options or LearnOptions()
    opts.validate()
    datasets = [Path(d) for d in datasets]
    if names is not None and len(names) != len(datasets):
        raise ValueError(f"{len(names)} names (--names) for {len(datasets)} datasets")
    infos = [check_dataset(d) for d in datasets]
    for d in datasets:
        check_ratio(load_dataset(d, columns=("ratio",))["ratio"], f"dataset {d}")
    if names is None:
        names = [info.get("conventions") or (info.get("parameters") or {}).get("conventions") or d.name
                 for d, info in zip(datasets, infos)]
    if len(set(names)) != len(names):
        names = [f"{n}-{i}" for i, n in enumerate(names)]
    out.mkdir(parents=True, exist_ok=True)
    results, timings = [], {}
    for d, name in zip(datasets, names):
        t0 = time.perf_counter()
        res = learn(d, opts, name=name, progress=Progress(name, n_steps(opts), enabled=progress))
        res["_figures"] = save_all(res, out / name)
        write_results(res, out / name / "results.json")
        results.append(res)
        timings[name] = round(time.perf_counter() - t0, 2)
    path = write_report(results, out, subdirs=names, extra=extra)
    _manifest(out, datasets, names, opts, timings)
    return path


def _manifest(out, datasets, names, opts, timings):
    from dataclasses import asdict

    write_manifest(out, "learn", {**asdict(opts), "ks": list(opts.ks)}, timings, seed=opts.seed,
                   extra={"datasets": [str(d) for d in datasets], "names": names, "mlp_precision": "float32"})


def _cmd_learn(args) -> int:
    from .pipeline import LearnOptions

    kw = {"seed": args.seed}
    for key in ("size", "trials", "max_epochs", "patience", "rf_estimators", "curve_max", "importance_rows"):
        v = getattr(args, key)
        if v is not None:
            kw[key] = v
    if args.models:
        kw["models"] = tuple(args.models)
    if args.mappings:
        kw["mappings"] = tuple(args.mappings)
        kw["curve_mappings"] = tuple(m for m in args.mappings if m not in ("f_Full", "f8"))
    if args.no_curves:
        kw["curve_mappings"] = ()
    opts = LearnOptions.quick(**kw) if args.quick else LearnOptions(**kw)
    out = Path(args.out) if args.out else default_out("learn")
    t0 = time.perf_counter()
    path = run_learn(args.dataset, out, names=args.names, options=opts, progress=not args.quiet)
    print(f"[qbjax] learn: report {path} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


def register(subparsers) -> None:
    """Add ``qbjax learn`` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "learn", help="ergotropy-regime learning (paper 000 Sec. III) on sweep datasets",
        description="Group split, k-means labels, Flax MLP + HGB + RF per feature mapping, TEST metrics, "
                    "learning curves, permutation importance, logistic regression; report.md with the "
                    "paper's values beside qbjax's. Give two datasets (e.g. published and physical "
                    "conventions) to report them side by side.")
    p.add_argument("dataset", nargs="+", help="dataset directory (DIR/data/part-*.parquet) or .parquet file; "
                   "filtered (qbjax filter) so that the ratio is finite")
    p.add_argument("--names", nargs="+", help="one label per dataset (default: its manifest's conventions)")
    p.add_argument("--out", help="output directory (default runs/learn-<timestamp>)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0,
                   help="seed of split, k-means, subsamples, MLP (default 0)")
    p.add_argument("--size", type=int_at_least("--size", 10), help="DEV rows each classifier is trained on, >= 10 "
                   "(default 100000)")
    p.add_argument("--trials", type=int_at_least("--trials", 0),
                   help="MLP random-search trials over Table II (default 4; 0: default config)")
    p.add_argument("--max-epochs", dest="max_epochs", type=int_at_least("--max-epochs", 1),
                   help="MLP epoch cap (default 200)")
    p.add_argument("--patience", type=int_at_least("--patience", 1),
                   help="MLP early-stopping patience in epochs (default 20)")
    p.add_argument("--rf-estimators", dest="rf_estimators", type=int_at_least("--rf-estimators", 1),
                   help="random-forest trees (default 300)")
    p.add_argument("--curve-max", dest="curve_max", type=int_at_least("--curve-max", 1),
                   help="largest learning-curve size (default 50000)")
    p.add_argument("--importance-rows", dest="importance_rows", type=int_at_least("--importance-rows", 10),
                   help="DEV rows for permutation importance, >= 10 (default 50000)")
    p.add_argument("--models", nargs="+", choices=["MLP", "HGB", "RF"], help="model families (default all)")
    p.add_argument("--mappings", nargs="+", help="feature mappings (default all: f_T f_E f_Th f_Q f_C f_Full f1..f8)")
    p.add_argument("--no-curves", action="store_true", help="skip the learning curves")
    p.add_argument("--quick", action="store_true", help="reduced settings (8,000 rows, no search, small curves)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_learn)
