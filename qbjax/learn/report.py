"""report.md of the learning pipeline: one or several datasets side by side (e.g. the published and
the physical conventions), every table in the layout of the paper's Tables III and VI with the
paper's values beside qbjax's, every figure, and a data-driven verdict on the paper's claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._runs import fmt, md_table
from .mappings import IMPORTANCE, LOGISTIC, LOGISTIC_PAPER, MANUAL, PAPER, SELECTED

__all__ = ["claims", "rebuild_report", "write_report", "write_results"]

_MET = ("accuracy", "f1", "mcc", "roc_auc", "pr_auc")
_MET_H = ("Acc", "F1", "MCC", "ROC", "PR")


def _f(x, d=4):
    """Metrics with ``d`` fixed decimals."""
    return fmt(x, decimals=d)


def _table(headers, rows):
    return md_table(headers, [[str(c) for c in r] for r in rows])


def _rank(imp: dict, feature: str) -> int:
    order = sorted(imp, key=lambda f: -imp[f][0])
    return order.index(feature) + 1


def claims(res: dict) -> dict:
    """The paper's claims, tested on one result: values and a supported flag each."""
    out = {}
    imp = res.get("importance") or {}
    if imp:
        ranks = {k: (_rank(v, "C4"), _rank(v, "p_c")) for k, v in imp.items()}
        top2 = sum(1 for r in ranks.values() if max(r) <= 2)
        out["c4_pc_dominant"] = {"ranks": ranks, "models_with_both_top2": top2,
                                 "supported": top2 >= max(1, (len(ranks) + 1) // 2)}
    t = res["tables"]

    def mcc(m):
        """The best TEST MCC of the model families for mapping m (the paper's claims are per mapping)."""
        vals = [v["mcc"] for v in t.get(m, {}).values()]
        return max(vals) if vals else None

    others = [m for m in ("f_T", "f_E", "f_Q", "f_Th") if mcc(m) is not None]
    if mcc("f_C") is not None and others:
        best_other = max(others, key=mcc)
        margin = mcc("f_C") - mcc(best_other)
        out["fC_beats_parameters"] = {"f_C": mcc("f_C"), "best_other": best_other,
                                      "best_other_mcc": mcc(best_other), "margin": margin,
                                      "supported": margin >= 0.1}
    if mcc("f6") is not None:
        out["f6_near_perfect"] = {"mcc": mcc("f6"), "supported": mcc("f6") >= 0.9}
    if mcc("f6") is not None and mcc("f8") is not None and mcc("f6") > 0:
        drop = 1 - mcc("f8") / mcc("f6")
        out["pc_needed_f8"] = {"f6": mcc("f6"), "f8": mcc("f8"), "drop": drop, "supported": drop >= 0.1}
    lg = res.get("logistic")
    if lg:
        co = lg["coef"]
        top = sorted(co, key=lambda c: -co[c])[:2]
        out["logistic_c4_pc_largest"] = {"coef": co, "top2": top, "supported": set(top) == {"C4", "p_c"}}
    return out


def _verdict(name, cl, res=None):
    yes = {True: "**supported**", False: "**not supported**"}
    s = [f"*{name}*:"]
    if res is not None:
        dev = res["class_counts"]["dev"]
        share = ", ".join(f"class {i} {100 * c / sum(dev):.2f}%" for i, c in enumerate(dev))
        s.append(f"Labels: K = {res['labels']['k']} ({res['labels']['selection']['rule']}), thresholds on E/E0 "
                 f"1, {', '.join(_f(x, 4) for x in res['labels']['thresholds'])}; DEV shares {share} (the paper's "
                 "Fig. 2c shows three well-populated classes).")
    if "fC_beats_parameters" in cl:
        c = cl["fC_beats_parameters"]
        s.append(f"f_C >> f_T, f_E, f_Q, f_Th {yes[c['supported']]} (best-model TEST MCC f_C {_f(c['f_C'])} vs best "
                 f"other {c['best_other']} {_f(c['best_other_mcc'])}; margin {_f(c['margin'])}, we ask >= 0.1 as "
                 "in the paper's 0.69 vs 0.50).")
    if "c4_pc_dominant" in cl:
        c = cl["c4_pc_dominant"]
        r = ", ".join(f"{k}: C4 #{a}, p_c #{b}" for k, (a, b) in c["ranks"].items())
        s.append(f"C4 and p_c dominant in permutation importance {yes[c['supported']]} (ranks of 18: {r}).")
    if "f6_near_perfect" in cl:
        c = cl["f6_near_perfect"]
        s.append(f"f6 near-perfect {yes[c['supported']]} (best-model TEST MCC {_f(c['mcc'])}, we ask >= 0.9; "
                 "paper MLP 0.9597).")
    if "pc_needed_f8" in cl:
        c = cl["pc_needed_f8"]
        s.append(f"Dropping p_c from f6 (f8) costs {100 * c['drop']:.0f}% of the best-model MCC (paper: 19%), "
                 f"{yes[c['supported']]} as a >= 10% drop.")
    if "logistic_c4_pc_largest" in cl:
        c = cl["logistic_c4_pc_largest"]
        s.append(f"C4 and p_c the two largest positive logistic coefficients {yes[c['supported']]} "
                 f"(largest two: {', '.join(c['top2'])}).")
    return " ".join(s)


def _notes(res) -> list:
    """Data-driven observations that explain differences from the paper (never tuned away)."""
    notes = []
    dev = np.asarray(res["class_counts"]["dev"], float)
    share = dev / dev.sum()
    k_min = int(np.argmin(share))
    if share[k_min] < 0.01:
        notes.append(f"class {k_min} holds only {100 * share[k_min]:.2f}% of the DEV rows "
                     f"({int(dev[k_min])} rows): the silhouette-optimal clustering of the standardised ratio "
                     "isolates a few extreme ratios (E0 close to 0 makes E/E0 huge), so per-class scores of that "
                     "class rest on a handful of TEST rows and macro-F1 / PR-AUC are dominated by them")
    rs = res["ratio_stats"]
    if rs["p95"] - rs["p5"] < 0.2:
        notes.append(f"E/E0 stays within [{rs['p5']:.3f}, {rs['p95']:.3f}] for 90% of the rows: the coherence "
                     "changes the ergotropy by a few percent only, and the classes separate small effects")
    t = res["tables"].get("f_C", {})
    if "MLP" in t and len(t) > 1:
        best_tree = max(v["mcc"] for k, v in t.items() if k != "MLP")
        if best_tree - t["MLP"]["mcc"] > 0.15:
            notes.append(f"on f_C the MLP (MCC {t['MLP']['mcc']:.3f}) trails the tree models (best {best_tree:.3f}): "
                         "the C_i = j_i/j0_i columns are extremely heavy-tailed here (j0_i near 0), and the "
                         "standardisation of the paper's MLP pipeline squeezes their bulk into a tiny interval, "
                         "while trees are invariant to monotone transforms")
    return notes


def _metric_rows(results, mappings):
    rows = []
    for m in mappings:
        first = False
        for kind in ("RF", "HGB", "MLP"):
            if not any(kind in r["tables"].get(m, {}) for r in results):
                continue
            p = PAPER.get(m, {}).get(kind)
            row = [m if not first else "", kind]
            first = True
            row += [_f(v) for v in p[2:]] if p else ["-"] * 5
            for r in results:
                t = r["tables"].get(m, {}).get(kind)
                row += [_f(t[k]) for k in _MET] if t else ["-"] * 5
            rows.append(row)
    return rows


def _metric_headers(results):
    h = ["Mapping", "Model"] + [f"paper {x}" for x in _MET_H]
    for r in results:
        h += [f"{r['name']} {x}" for x in _MET_H]
    return h


def _img_row(results, key, sub):
    cells = []
    for r in results:
        f = r.get("_figures", {}).get(key)
        cells.append(f"![{r['name']} {key}]({sub(r)}/{f})" if f else "-")
    return cells


def write_results(res: dict, path) -> Path:
    """results.json of one dataset (the arrays for the figures left out)."""
    path = Path(path)
    clean = {k: v for k, v in res.items() if not k.startswith("_")}
    path.write_text(json.dumps(clean, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    return path


def write_report(results: list, out_dir, subdirs: list | None = None, title: str | None = None,
                 extra: list | None = None) -> Path:
    """Write ``out_dir/report.md`` for one or several results (figures already saved under
    ``out_dir/<subdir>``); returns its path."""
    out_dir = Path(out_dir)
    subdirs = subdirs or [r["name"] for r in results]
    sub = {id(r): s for r, s in zip(results, subdirs)}
    names = [r["name"] for r in results]
    L = [f"# {title or 'qbjax learn: ergotropy-regime learning (paper 000, Sec. III)'}", ""]
    L += ["Datasets: " + "; ".join(f"**{r['name']}** = `{r['dataset']}`" for r in results) + ".", ""]
    L += [("Pipeline (paper Sec. III): group-aware 70/30 DEV/TEST split on the keys (p_h, T_c, T_h, T_l, tau, "
          "p_c) with no group on both sides (asserted); class 0 = E/E0 < 1, the DEV rows with E/E0 >= 1 "
          "standardised and clustered by exact 1-D k-means for K = 2..10, K by the exact 1-D silhouette on "
          "all those DEV rows (WCSS elbow as fallback), thresholds fitted on DEV and applied to TEST; "
          "per mapping a Flax MLP (Optax Adam, batch 128, balanced class weights, early stopping on a 10% "
          "validation fraction, float32, random search over the paper's Table II space) and scikit-learn "
          "HistGradientBoosting / RandomForest baselines (balanced class weights, one fixed point of "
          "Table II), all trained on the same DEV subsample and scored once on TEST with scikit-learn's "
          "metric functions."), ""]
    o = results[0]["options"]
    L += [(f"Settings: seed {o['seed']}; training rows per classifier {o['size']:,} (paper: 1-6 x 10^5, "
          f"'Size' column: 1L = 10^5); MLP search {o['trials']} trials on {o['search_rows']:,} rows; "
          f"max {o['max_epochs']} epochs, patience {o['patience']}; RF {o['rf_estimators']} trees; learning "
          f"curves up to {o['curve_max']:,} rows; importance on {o['importance_rows']:,} rows x "
          f"{o['importance_repeats']} shuffles."), ""]
    if len(results) > 1:
        L += [("The paper's conclusions were drawn from its printed generator Eq. (1) (`published`); qbjax's "
              "`FourLevelBattery` corrects it (`physical`: trace preserving, per-bath detailed balance). The two datasets differ "
              "in kind, so every table and figure below shows them side by side. Differences are reported, "
              "not tuned away."), ""]

    # datasets and labels
    L += ["## Datasets, split and labels (Fig. 2)", ""]
    rows = [["rows after filtering", "1,654,159"] + [f"{r['n_rows']:,}" for r in results],
            ["DEV / TEST rows", "70% / 30%"] + [f"{r['split']['dev']:,} / {r['split']['test']:,}" for r in results],
            ["groups (none shared)", "-"] + [f"{r['split']['groups']:,}" for r in results],
            ["E/E0 median [p5, p95]", "right-skewed"] + [
                f"{_f(r['ratio_stats']['median'], 3)} [{_f(r['ratio_stats']['p5'], 3)}, "
                f"{_f(r['ratio_stats']['p95'], 3)}]" for r in results],
            ["fraction E/E0 < 1", "-"] + [_f(r["frac_below_1"], 3) for r in results],
            ["K (clusters of E/E0 >= 1)", "2 (silhouette and WCSS)"] + [
                f"{r['labels']['k']} ({r['labels']['selection']['rule']})" for r in results],
            ["class thresholds on E/E0", "1, (not printed)"] + [
                "1, " + ", ".join(_f(t, 4) for t in r["labels"]["thresholds"]) for r in results],
            ["DEV class counts", "-"] + [str(r["class_counts"]["dev"]) for r in results],
            ["TEST class counts", "-"] + [str(r["class_counts"]["test"]) for r in results]]
    L += _table(["quantity", "paper"] + names, rows)
    sil_rows = []
    for i, kk in enumerate(results[0]["labels"]["selection"]["ks"]):
        row = [str(kk)]
        for r in results:
            s = r["labels"]["selection"]
            row += [_f(s["silhouette"][i]), f"{s['wcss'][i]:.4g}"] if i < len(s["ks"]) else ["-", "-"]
        sil_rows.append(row)
    L += _table(["K"] + [f"{n} {x}" for n in names for x in ("silhouette", "WCSS")], sil_rows)
    L += _table(names, [_img_row(results, "fig2_classes", lambda r: sub[id(r)])])

    L += ["## Table III: TEST metrics, manual mappings", ""]
    L += _table(_metric_headers(results), _metric_rows(results, MANUAL))
    L += ["## Table VI: TEST metrics, feature subsets f1..f8", ""]
    L += [("f8 = {C4, T_l, T_h, Q_h} (f6 without p_c) is not in the paper's table; the paper reports only "
          "that its MCC is 19% below f6's."), ""]
    L += _table(_metric_headers(results), _metric_rows(results, SELECTED))

    L += ["## Learning curves (Figs. 3 and 6)", "",
          ("Validation macro-F1 and train/validation F1 ratio vs training size, on a group-aware 70/30 "
          "split of DEV (fixed hyperparameters: the MLP default config, Table II point for HGB / RF)."), ""]
    L += _table(names, [_img_row(results, "fig3_curves_manual", lambda r: sub[id(r)])])
    L += _table(names, [_img_row(results, "fig6_curves_selected", lambda r: sub[id(r)])])

    L += ["## TEST confusion matrices, ROC and PR curves, MLP (Figs. 4, 7, 8)", ""]
    for key, lab in (("fig4_fC", "f_C (Fig. 4)"), ("fig7_f5", "f5 (Fig. 7)"), ("fig8_f6", "f6 (Fig. 8)")):
        L += [f"**{lab}**", ""] + _table(names, [_img_row(results, key, lambda r: sub[id(r)])])

    L += ["## Permutation importance (Fig. 5)", "",
          ("Drop in validation macro-F1 when one of the 18 variables is shuffled (mean over the shuffles), "
          "Table IV models trained on 70% of a DEV subsample and scored on the other 30%."), ""]
    if any(r["importance"] for r in results):
        kinds = list(results[0]["importance"])
        hdr = ["feature"] + [f"{r['name']} {k}" for r in results for k in kinds]
        rows = []
        for feat in IMPORTANCE:
            rows.append([feat] + [_f(r["importance"].get(k, {}).get(feat, (None,))[0]) for r in results
                                  for k in kinds])
        rows.sort(key=lambda row: -max(float(c) if c != "-" else -1e9 for c in row[1:]))
        L += _table(hdr, rows)
    L += _table(names, [_img_row(results, "fig5_importance", lambda r: sub[id(r)])])

    L += ["## Class-wise KDEs and logistic regression (Fig. 9)", "",
          ("Binary logistic regression of class 2 vs rest on the standardised f6 features "
          "(scikit-learn LogisticRegression, L2, C = 1), fitted on the DEV training subsample."), ""]
    rows = []
    for c in LOGISTIC:
        rows.append([c, f"{LOGISTIC_PAPER[c]:+.2f}"] + [
            (f"{r['logistic']['coef'][c]:+.2f}" if r.get("logistic") else "-") for r in results])
    L += _table(["coefficient", "paper"] + names, rows)
    L += _table(names, [_img_row(results, "fig9_kde_logistic", lambda r: sub[id(r)])])

    L += ["## MLP hyperparameter search (Table II space)", "",
          ("Best of the random-search trials per mapping ('-': no search in this run, the default "
           "configuration (128, 64), relu, alpha 1e-4, lr 1e-3 was used)."), ""]
    rows = []
    for m in MANUAL + SELECTED:
        row = [m]
        for r in results:
            s = r.get("mlp_search", {}).get(m)
            row.append(f"{tuple(s['best']['hidden'])}, {s['best']['activation']}, alpha {s['best']['alpha']:g}, "
                       f"lr {s['best']['lr']:g}" if s else "-")
        rows.append(row)
    L += _table(["mapping"] + names, rows)

    L += ["## Do the data support the paper's claims?", ""]
    for r in results:
        L += [_verdict(r["name"], claims(r), r), ""]
        notes = _notes(r)
        if notes:
            L += [f"Observations ({r['name']}): " + "; ".join(notes) + ".", ""]
    if len(results) > 1:
        L += [("Reading the two side by side: the paper's conclusions come from its printed generator. Claims "
               "marked supported on one dataset and not on the other depend on the convention, i.e. on the "
               "printed Eq. (1) rather than on the physics; the printed matrix is not "
               "a valid Lindbladian (no trace preservation, broken detailed balance)."), ""]
    if extra:
        L += list(extra) + [""]

    L += ["## Timings", ""]
    keys = list(results[0]["timings_s"])
    L += _table(["step"] + names, [[k] + [_f(r["timings_s"].get(k), 1) for r in results] for k in keys])
    from .._info import environment

    env = environment()
    L += [(f"MLP in float32; physics columns float64. Backend {env['backend']}; devices "
          f"{', '.join(env['devices'])}; jax {env['versions']['jax']}; machine {env['machine']}."), ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(L))
    return path


def rebuild_report(out_dir, names=None, extra=None) -> Path:
    """Rewrite ``out_dir/report.md`` from the ``results.json`` and figures of a finished run."""
    out_dir = Path(out_dir)
    if names is None:
        names = json.loads((out_dir / "manifest.json").read_text())["names"]
    results = []
    for n in names:
        r = json.loads((out_dir / n / "results.json").read_text())
        r["_figures"] = {p.stem: p.name for p in sorted((out_dir / n).glob("*.png"))}
        results.append(r)
    return write_report(results, out_dir, subdirs=list(names), extra=extra)
