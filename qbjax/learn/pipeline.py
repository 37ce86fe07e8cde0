"""The ergotropy-regime learning pipeline of paper 000 Sec. III, for one dataset.

``learn(dataset, options)`` -> a JSON-serialisable results dict (plus the arrays the figures need
under ``results["_arrays"]``).  Steps: load -> group-aware 70/30 DEV/TEST split -> labels fitted on
DEV, applied to TEST -> per mapping, MLP (small Table II search) + HGB + RF on a DEV subsample of
``size`` rows, TEST metrics -> learning curves -> permutation importance (Table IV models) ->
logistic regression of class 2 vs rest on f6.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .classifiers import KINDS, TABLE_IV, train
from .data import REQUIRED, dataset_info, load_dataset
from .labels import fit_labels
from .mappings import IMPORTANCE, LOGISTIC, MANUAL, MAPPINGS, SELECTED
from .metrics import check_classes, classification_metrics, curves
from .mlp import MLPConfig, search_mlp
from .split import GROUP_KEYS, assert_no_leak, group_ids, group_split

__all__ = ["CURVE_FIGS", "CURVE_MAPPINGS", "LearnOptions", "Progress", "check_dataset", "check_ratio", "learn"]

#: mappings whose TEST confusion matrix / ROC / PR curves are drawn (Figs. 4, 7, 8)
CURVE_FIGS = ("f_C", "f5", "f6")
#: mappings with learning curves (Fig. 3: f_T, f_E, f_Th, f_Q, f_C; Fig. 6: f1..f7)
CURVE_MAPPINGS = ("f_T", "f_E", "f_Th", "f_Q", "f_C", "f1", "f2", "f3", "f4", "f5", "f6", "f7")


@dataclass
class LearnOptions:
    """Knobs of the pipeline (defaults: a full run; :meth:`quick` a reduced one)."""

    seed: int = 0
    size: int = 100_000  # DEV rows each TEST-table classifier is trained on (paper: 1L..6L = 1e5..6e5)
    test_size: float = 0.3
    models: tuple = KINDS
    mappings: tuple = MANUAL + SELECTED
    trials: int = 4  # MLP random-search trials over Table II (on search_rows DEV rows)
    search_rows: int = 20_000
    max_epochs: int = 200
    patience: int = 20
    rf_estimators: int = 300
    curve_sizes: tuple | None = None  # DEV sizes of the learning curves (default: 4 log-spaced)
    curve_max: int = 50_000
    curve_points: int = 4
    curve_mappings: tuple = CURVE_MAPPINGS
    importance_rows: int = 50_000
    importance_repeats: int = 5
    ks: tuple = tuple(range(2, 11))

    @classmethod
    def quick(cls, **kw) -> LearnOptions:
        base = {"size": 6_000, "trials": 0, "search_rows": 3_000, "max_epochs": 40, "patience": 8,
                "rf_estimators": 40, "curve_max": 4_000, "curve_points": 2, "importance_rows": 4_000,
                "importance_repeats": 3}
        base.update(kw)
        return cls(**base)

    def validate(self) -> None:
        unknown = [m for m in self.mappings if m not in MAPPINGS]
        if unknown:
            raise ValueError(f"unknown mapping(s) {unknown}; choose from {list(MAPPINGS)}")
        bad = [k for k in self.models if k not in KINDS]
        if bad:
            raise ValueError(f"unknown model(s) {bad}; choose from {list(KINDS)}")
        if self.size < 10:
            raise ValueError(f"size must be >= 10; got {self.size}")


def check_dataset(path) -> dict:
    """Checks of a dataset path that read no data: it exists, holds Parquet files and is not a raw
    (unfiltered) sweep according to its manifest.  Returns the manifest (:func:`dataset_info`)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"dataset {path} does not exist (give a filtered sweep directory or a .parquet file)")
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise ValueError(f"dataset {path} holds no Parquet file (expected DIR/data/part-*.parquet)")
    info = dataset_info(path)
    if info.get("command") == "sweep" or info.get("filtered") is False:
        raise ValueError(f"dataset {path} is not filtered (a raw sweep: its rows with a non-finite ratio, "
                         "E0 <= 1e-12 or |j0_i| <= 1e-12 are still in); "
                         f"filter it first: qbjax filter {path} --out DIR, then qbjax learn DIR")
    return info


def small_data_message(n_dev: int, opts) -> str | None:
    """A warning when the DEV split is smaller than what the options ask for (training rows per
    classifier, MLP search rows, learning-curve and importance rows): every size is then capped at
    the rows there are, and the numbers are not comparable with the paper's 10^5-10^6 rows."""
    asked = {"training rows (size)": opts.size, "MLP search rows": opts.search_rows if opts.trials else 0,
             "learning-curve rows": opts.curve_max, "importance rows": opts.importance_rows}
    short = {k: v for k, v in asked.items() if v > n_dev}
    if not short:
        return None
    what = ", ".join(f"{k} {v:,}" for k, v in short.items())
    return (f"the DEV split has {n_dev:,} rows, fewer than the options ask for ({what}): each is capped at "
            f"{n_dev:,}, so the results are not comparable with the paper's (10^5-10^6 rows); use a larger "
            "grid (qbjax sweep --points 8) or smaller options (--size, --curve-max, --importance-rows)")


def check_ratio(ratio, where: str = "dataset") -> None:
    """The ratio column can be learned: rows, all finite (a filtered dataset), and both regimes,
    ratio < 1 (class 0) and ratio >= 1 with at least two distinct values (classes 1..K)."""
    r = np.asarray(ratio, np.float64).reshape(-1)
    if r.size == 0:
        raise ValueError(f"{where} has no rows")
    bad = int(np.count_nonzero(~np.isfinite(r)))
    if bad:
        raise ValueError(f"{where} is not filtered: {bad:,} of {r.size:,} rows have a non-finite ratio; "
                         "filter it first (qbjax filter DATASET --out DIR)")
    low, n_high = int(np.count_nonzero(r < 1.0)), np.unique(r[r >= 1.0]).size
    side = "< 1" if low == 0 else ">= 1" if n_high == 0 else None
    if side:
        raise ValueError(f"{where} has one class only: no row has ratio {side} in {r.size:,} rows; the regimes "
                         "need rows with ratio < 1 and rows with ratio >= 1")
    if n_high < 2:
        raise ValueError(f"{where} cannot be labelled: its rows with ratio >= 1 all have one value (k-means needs "
                         "at least two distinct ratios >= 1)")


class Progress:
    """A one-line-per-step progress display on stderr: ``[learn NAME] step i/N (elapsed) message``."""

    def __init__(self, name: str = "", total: int = 0, stream=None, enabled: bool = True):
        self.name, self.total, self.done = name, total, 0
        self.stream, self.enabled, self.t0 = stream, enabled, time.perf_counter()

    def step(self, message: str) -> None:
        self.done += 1
        if self.enabled:
            el = time.perf_counter() - self.t0
            tot = f"/{self.total}" if self.total else ""
            print(f"[learn {self.name}] {self.done}{tot} {el:7.1f}s  {message}", file=self.stream or sys.stderr, flush=True)


def _cols(cols, names):
    return np.stack([cols[c] for c in names], axis=1)


def _subsample(n_or_idx, size, rng):
    idx = np.arange(n_or_idx) if np.isscalar(n_or_idx) else np.asarray(n_or_idx)
    if idx.size <= size:
        return idx
    return np.sort(rng.choice(idx, size=size, replace=False))


def _pad_rows(opts, n_dev):
    """One padded row capacity for every MLP fit of a run (one compilation per configuration)."""
    return min(max(opts.size, opts.curve_max, opts.importance_rows, opts.search_rows), n_dev)


def _model_settings(kind, opts, mlp_config=None, pad_rows=0):
    if kind == "MLP":
        return {"config": mlp_config or MLPConfig(max_epochs=opts.max_epochs, n_iter_no_change=opts.patience),
                "min_rows": pad_rows, "min_cols": 32}
    if kind == "RF":
        return {"n_estimators": opts.rf_estimators}
    return {}


def _table_iv(kind, opts, pad_rows=0):
    s = dict(TABLE_IV[kind])
    if kind == "MLP":
        s.update(min_rows=pad_rows, min_cols=32)
        s["config"] = replace(s["config"], max_epochs=min(s["config"].max_epochs, opts.max_epochs),
                              n_iter_no_change=opts.patience)
    return s


def _f1(y, pred):
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=np.unique(y), average="macro", zero_division=0))


def _curve_sizes(n_train, opts):
    if opts.curve_sizes:
        return sorted({int(min(s, n_train)) for s in opts.curve_sizes})
    hi = min(n_train, opts.curve_max)
    lo = min(hi, max(500, hi // 16))
    return sorted({round(s) for s in np.geomspace(lo, hi, max(opts.curve_points, 1))})


def n_steps(opts: LearnOptions) -> int:
    """Number of progress steps of :func:`learn` (for the display)."""
    n_curve = len(opts.curve_mappings) * len(opts.models)
    return 3 + len(opts.mappings) * len(opts.models) + n_curve + len(opts.models) + 2


def learn(dataset, options: LearnOptions | None = None, name: str | None = None, progress=None) -> dict:
    """Run the pipeline on ``dataset`` (a path or a dict of columns); see the module docstring."""
    opts = options or LearnOptions()
    opts.validate()
    t_start = time.perf_counter()
    timings = {}
    info = {} if isinstance(dataset, dict) else check_dataset(dataset)
    name = name or info.get("conventions") or (info.get("parameters") or {}).get("conventions") or "dataset"
    prog = progress or Progress(name, n_steps(opts))
    rng = np.random.default_rng(opts.seed)

    # 1. data + group-aware split
    t0 = time.perf_counter()
    if isinstance(dataset, dict):
        missing = [c for c in REQUIRED if c not in dataset]
        if missing:
            raise ValueError(f"dataset is missing column(s) {missing}")
        cols = {c: np.asarray(dataset[c], np.float64) for c in REQUIRED}
    else:
        cols = load_dataset(dataset)
    n = cols["ratio"].size
    where = "dataset" if isinstance(dataset, dict) else f"dataset {dataset}"
    if not np.all(np.isfinite(cols["ratio"])):
        check_ratio(cols["ratio"], where)
    groups = group_ids(cols, GROUP_KEYS)
    dev, test = group_split(groups, opts.test_size, opts.seed)
    check_ratio(cols["ratio"], where)
    assert_no_leak(groups, dev, test)
    timings["load_split"] = time.perf_counter() - t0
    prog.step(f"loaded {n:,} rows; DEV {dev.size:,} / TEST {test.size:,} rows, "
              f"{np.unique(groups).size:,} groups, none shared")
    small = small_data_message(dev.size, opts)
    if small:
        warnings.warn(small, UserWarning, stacklevel=2)
        prog.step("warning: " + small)

    # 2. labels on DEV, applied to TEST
    t0 = time.perf_counter()
    lab = fit_labels(cols["ratio"][dev], ks=opts.ks, seed=opts.seed)
    y = lab.apply(cols["ratio"])
    k = lab.n_classes
    check_classes(y[dev], k, "DEV")
    check_classes(y[test], k, "TEST")
    timings["labels"] = time.perf_counter() - t0
    prog.step(f"labels: K = {lab.k} ({lab.selection['rule']}), {k} classes, thresholds "
              f"{np.round(lab.thresholds, 4).tolist()}")

    train_idx = _subsample(dev, opts.size, rng)
    pad = _pad_rows(opts, dev.size)
    check_classes(y[train_idx], k, "the training subsample")

    # 3. per mapping and model: TEST metrics
    t0 = time.perf_counter()
    tables, searches, figdata = {}, {}, {}
    for m in opts.mappings:
        feats = MAPPINGS[m]
        Xtr, ytr = _cols(cols, feats)[train_idx], y[train_idx]
        Xte, yte = _cols(cols, feats)[test], y[test]
        tables[m] = {}
        for kind in opts.models:
            t1 = time.perf_counter()
            cfg = None
            if kind == "MLP" and opts.trials > 0:
                base = MLPConfig(max_epochs=opts.max_epochs, n_iter_no_change=opts.patience)
                cfg, trials = search_mlp(Xtr, ytr, k, n_trials=opts.trials, seed=opts.seed,
                                         max_rows=opts.search_rows, base=base, min_rows=pad, min_cols=32)
                searches[m] = {"best": {**asdict(cfg), "hidden": list(cfg.hidden)}, "trials": trials}
            model = train(kind, Xtr, ytr, k, seed=opts.seed, **_model_settings(kind, opts, cfg, pad))
            proba = model.predict_proba(Xte)
            met = classification_metrics(yte, proba, k)
            met.update(size=int(train_idx.size), fit_s=round(time.perf_counter() - t1, 2))
            tables[m][kind] = met
            if kind == "MLP" and m in CURVE_FIGS:
                figdata[m] = curves(yte, proba)
            prog.step(f"{m:6s} {kind:3s}: MCC {met['mcc']:.4f} F1 {met['f1']:.4f} ({met['fit_s']:.1f} s)")
    timings["tables"] = time.perf_counter() - t0

    # 4. learning curves: group-aware 70/30 train/validation split of DEV, growing train subsets
    t0 = time.perf_counter()
    tr_rel, va_rel = group_split(groups[dev], 0.3, opts.seed + 1)
    dev_tr, dev_va = dev[tr_rel], dev[va_rel]
    va_sub = _subsample(dev_va, max(opts.curve_max // 2, 1000), rng)
    sizes = _curve_sizes(dev_tr.size, opts)
    order = rng.permutation(dev_tr)  # nested subsets: the first s rows of one permutation
    lcurves = {}
    for m in opts.curve_mappings:
        X = _cols(cols, MAPPINGS[m])
        lcurves[m] = {}
        for kind in opts.models:
            rows = []
            for s in sizes:
                idx = order[:s]
                if np.unique(y[idx]).size < 2:
                    continue
                model = train(kind, X[idx], y[idx], k, seed=opts.seed, **_model_settings(kind, opts, None, pad))
                f1_t = _f1(y[idx], model.predict(X[idx]))
                f1_v = _f1(y[va_sub], model.predict(X[va_sub]))
                rows.append({"size": int(s), "f1_train": f1_t, "f1_val": f1_v,
                             "ratio": f1_t / f1_v if f1_v > 0 else float("nan")})
            lcurves[m][kind] = rows
            last = rows[-1] if rows else {"f1_val": float("nan")}
            prog.step(f"curve {m:6s} {kind:3s}: sizes {sizes}, F1_v at largest {last['f1_val']:.4f}")
    timings["learning_curves"] = time.perf_counter() - t0

    # 5. permutation importance (Table IV models, 18 features, 7:3 split of DEV, drop in macro-F1)
    t0 = time.perf_counter()
    imp_tr = _subsample(dev_tr, int(0.7 * opts.importance_rows), rng)
    imp_va = _subsample(dev_va, int(0.3 * opts.importance_rows), rng)
    Ximp = _cols(cols, IMPORTANCE)
    importance = {}
    from .importance import permutation_importance

    for kind in opts.models:
        model = train(kind, Ximp[imp_tr], y[imp_tr], k, seed=opts.seed, **_table_iv(kind, opts, pad))
        importance[kind] = permutation_importance(model.predict, Ximp[imp_va], y[imp_va], IMPORTANCE,
                                                  n_repeats=opts.importance_repeats, seed=opts.seed)
        top = sorted(importance[kind].items(), key=lambda kv: -kv[1][0])[:3]
        prog.step(f"importance {kind}: top {[t[0] for t in top]}")
    timings["importance"] = time.perf_counter() - t0

    # 6. logistic regression, class 2 vs rest, standardised f6 features (DEV training subsample)
    t0 = time.perf_counter()
    logistic = _logistic(cols, y, train_idx, k)
    timings["logistic"] = time.perf_counter() - t0
    prog.step("logistic regression (class 2 vs rest on f6): "
              + (", ".join(f"{c} {v:+.2f}" for c, v in logistic["coef"].items()) if logistic else "skipped"))

    # arrays for the figures (subsampled)
    fig_idx = _subsample(n, 200_000, np.random.default_rng(opts.seed))
    is_dev = np.zeros(n, bool)
    is_dev[dev] = True
    arrays = {"ratio": cols["ratio"][fig_idx], "y": y[fig_idx], "is_dev": is_dev[fig_idx],
              **{c: cols[c][fig_idx] for c in ("T_h", "T_l", "Q_h", "p_c", "C4")}}
    counts_dev = np.bincount(y[dev], minlength=k).tolist()
    counts_test = np.bincount(y[test], minlength=k).tolist()
    timings["total"] = time.perf_counter() - t_start
    prog.step(f"done in {timings['total']:.1f} s")
    return {
        "name": name, "dataset": None if isinstance(dataset, dict) else str(dataset), "dataset_info": info,
        "small_data": small,
        "options": {**asdict(opts), "ks": list(opts.ks)}, "n_rows": int(n),
        "split": {"dev": int(dev.size), "test": int(test.size), "groups": int(np.unique(groups).size),
                  "group_keys": list(GROUP_KEYS), "shared_groups": 0},
        "labels": lab.to_dict(), "class_counts": {"dev": counts_dev, "test": counts_test},
        "ratio_stats": {q: float(np.percentile(cols["ratio"], p)) for q, p in
                        (("min", 0), ("p5", 5), ("median", 50), ("p95", 95), ("max", 100))},
        "frac_below_1": float(np.mean(cols["ratio"] < 1)),
        "tables": tables, "mlp_search": searches, "curves": lcurves, "curve_sizes": sizes,
        "importance": importance, "logistic": logistic, "timings_s": {k_: round(v, 2) for k_, v in timings.items()},
        "_arrays": arrays, "_figdata": figdata,
    }


def _logistic(cols, y, idx, k) -> dict | None:
    if k < 3:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(_cols(cols, LOGISTIC)[idx])
    t = (y[idx] == 2).astype(int)
    if np.unique(t).size < 2:
        return None
    lr = LogisticRegression(max_iter=2000).fit(X, t)
    return {"coef": {c: float(v) for c, v in zip(LOGISTIC, lr.coef_[0])}, "intercept": float(lr.intercept_[0]),
            "rows": int(idx.size), "class2_fraction": float(t.mean())}
