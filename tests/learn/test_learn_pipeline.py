"""The learning pipeline end to end on a tiny grid, and its bad-input errors."""

import json

import numpy as np
import pytest

from qbjax.learn.data import REQUIRED, load_dataset, write_grid_dataset
from qbjax.learn.pipeline import LearnOptions, learn

TINY = {"size": 600, "trials": 1, "search_rows": 300, "max_epochs": 5, "patience": 3, "rf_estimators": 10,
        "curve_max": 400, "curve_points": 2, "importance_rows": 400, "importance_repeats": 2,
        "curve_mappings": ("f_C", "f6"), "ks": (2, 3, 4)}


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory):
    """A filtered 3^7 = 2,187-configuration physical grid in the dataset layout (the paper-000 filter rules)."""
    return write_grid_dataset(tmp_path_factory.mktemp("grid") / "physical", points=3, conventions="physical")


@pytest.mark.slow
def test_pipeline_end_to_end_tiny(tiny_grid, tmp_path):
    """Default run: every step on a 3^7 grid with two mappings (fast)."""
    from qbjax.learn.cli import run_learn

    opts = LearnOptions(**{**TINY, "trials": 0, "mappings": ("f_C", "f6"), "curve_mappings": ("f_C",),
                           "curve_points": 1, "importance_repeats": 1})
    path = run_learn([tiny_grid], tmp_path / "out", names=["physical"], options=opts, progress=False)
    report = path.read_text()
    for s in ("Table III", "Table VI", "0.8494", "0.9597", "+6.03", "Do the data support", "f_C >> f_T"[:3]):
        assert s in report
    res = json.loads((tmp_path / "out" / "physical" / "results.json").read_text())
    assert res["split"]["shared_groups"] == 0 and res["split"]["dev"] + res["split"]["test"] == res["n_rows"]
    assert set(res["tables"]) == {"f_C", "f6"} and set(res["tables"]["f6"]) == {"MLP", "HGB", "RF"}
    for met in res["tables"]["f6"]["MLP"].values():
        assert np.isfinite(met)
    figs = {p.name for p in (tmp_path / "out" / "physical").glob("*.png")}
    assert {"fig2_classes.png", "fig3_curves_manual.png", "fig4_fC.png", "fig5_importance.png",
            "fig8_f6.png", "fig9_kde_logistic.png"} <= figs


@pytest.mark.slow
def test_pipeline_end_to_end_cli(tiny_grid, tmp_path):
    """The CLI on two datasets side by side, every mapping and figure (minutes on 2 cores)."""
    from qbjax.cli import main

    out = tmp_path / "learn"
    args = ["learn", str(tiny_grid), str(tiny_grid), "--names", "a", "b", "--out", str(out), "--quiet",
            "--size", "600", "--trials", "1", "--max-epochs", "5", "--patience", "3", "--rf-estimators", "10",
            "--curve-max", "400", "--importance-rows", "400", "--quick"]
    assert main(args) == 0
    report = (out / "report.md").read_text()
    for s in ("Table III", "Table VI", "f_Full", "f8", "+6.03", "Do the data support", "0.8494"):
        assert s in report
    for name in ("a", "b"):
        figs = {p.name for p in (out / name).glob("*.png")}
        assert {"fig2_classes.png", "fig3_curves_manual.png", "fig4_fC.png", "fig5_importance.png",
                "fig6_curves_selected.png", "fig7_f5.png", "fig8_f6.png", "fig9_kde_logistic.png"} <= figs
        res = json.loads((out / name / "results.json").read_text())
        assert res["split"]["shared_groups"] == 0
        assert set(res["tables"]) == {"f_T", "f_E", "f_Th", "f_Q", "f_C", "f_Full"} | {f"f{i}" for i in range(1, 9)}
        assert set(res["tables"]["f_C"]) == {"MLP", "HGB", "RF"}
    a = json.loads((out / "a" / "results.json").read_text())
    b = json.loads((out / "b" / "results.json").read_text())
    diffs = [(m, c, k, a["tables"][m][c][k], b["tables"][m][c][k]) for m in a["tables"] for c in a["tables"][m]
             for k in a["tables"][m][c] if k != "fit_s" and a["tables"][m][c][k] != b["tables"][m][c][k]]
    assert not diffs, diffs[:5]  # deterministic for a seed (fit times aside)
    assert json.loads((out / "manifest.json").read_text())["mlp_precision"] == "float32"


def test_dataset_missing_a_column_is_a_clear_error(tiny_grid, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = load_dataset(tiny_grid)
    del cols["C4"]
    pq.write_table(pa.table(cols), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['C4'\]"):
        learn(tmp_path / "bad.parquet", LearnOptions(**TINY))


def test_too_few_rows_is_a_clear_error(tiny_grid):
    cols = {k: v[:6] for k, v in load_dataset(tiny_grid).items()}
    with pytest.raises(ValueError, match="too few rows"):
        learn(cols, LearnOptions(**TINY))


def test_class_absent_from_test_is_a_clear_error():
    rng = np.random.default_rng(0)
    n_groups, per = 200, 5
    cols = {k: np.repeat(rng.uniform(0.1, 1, n_groups), per) for k in REQUIRED}
    cols["ratio"] = np.where(rng.uniform(size=n_groups * per) < 0.5, 0.5, 1.2)
    cols["ratio"][:per] = 50.0  # the highest class lives in one group only
    for seed in range(20):  # a seed that puts that group in DEV: TEST then lacks the class
        from qbjax.learn.split import group_ids, group_split

        dev, _ = group_split(group_ids(cols), 0.3, seed)
        if 0 in dev:
            break
    with pytest.raises(ValueError, match="absent from TEST"):
        learn(cols, LearnOptions(**{**TINY, "seed": seed}))


def test_small_data_warning_names_the_capped_sizes():
    from qbjax.learn.pipeline import small_data_message

    msg = small_data_message(1_057, LearnOptions())  # a filtered 3^7 grid under the default options
    assert "1,057 rows" in msg and "training rows (size) 100,000" in msg and "--points 8" in msg
    assert small_data_message(10**6, LearnOptions()) is None
