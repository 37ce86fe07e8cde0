"""qbjax filter --where: rules given as expressions, on four-level sweeps and on datasets of other columns.

Expected rows come from NumPy masks written here, never from the code under test.
"""

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import qbjax  # noqa: F401  (float64)
from qbjax.models.four_level import FEATURES
from qbjax.sweep import filter_dataset, read_dataset, run_sweep, store

# a column of every kind: float with NaN and inf, int, bool, fixed-size list; 10 rows in 3 parts of 4
OTHER_COLUMNS = {"x": "float64", "n": "int64", "ok": "bool", "v": "float64[3]", "config_id": "int64"}
CHUNK, N = 4, 10


def _sha(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A four-level sweep of 2^7 = 128 configurations (published generator: 32 rows fail E0 > 1e-12,
    ratio holds NaN and inf)."""
    out = tmp_path_factory.mktemp("sweep") / "grid"
    run_sweep(out, points=2, chunk=16, conventions="published", progress=False)
    return out


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """A dataset whose columns are not the four-level ones, written part by part with the store helpers."""
    out = tmp_path_factory.mktemp("other") / "ds"
    identity = {"format_version": 2, "kind": "sweep", "model": "toy", "chunk": CHUNK, "n_configs": N,
                "columns": OTHER_COLUMNS}
    fp = _sha(identity)
    store.check_storage(out, N)
    x = np.array([0.5, np.nan, 2.0, -1.0, np.inf, 3.0, 1.5, np.nan, -np.inf, 0.25])
    for k in range(3):
        a, b = k * CHUNK, min((k + 1) * CHUNK, N)
        ids = np.arange(a, b)
        cols = {"x": x[a:b], "n": ids * 3, "ok": ids % 3 != 0, "v": np.arange(3 * a, 3 * b, dtype=float).reshape(-1, 3)}
        store.write_part(out, k, cols, ids, fp, (a, b), identity)
    store.write_json_atomic(out / "manifest.json", {
        "command": "sweep", "status": "complete", "format_version": 2, "fingerprint": fp, "identity": identity,
        "parameters": {"chunk": CHUNK, "n_configs": N}, "columns": OTHER_COLUMNS, "rows": N})
    return out


def _arrays(path) -> dict:
    t = read_dataset(path)
    return {c: t.column(c).to_numpy() for c in t.column_names if c != "v"}


@pytest.mark.slow
def test_where_on_a_four_level_sweep_equals_numpy_masks(sweep, tmp_path):
    src = _arrays(sweep)
    where = ["not (ratio < 10)", "E0 > 1e-12 and ratio >= 1", "abs(j0_1) > 1e-12", "W / Q_h < 12 or C1 != C1"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rules = [~(src["ratio"] < 10), (src["E0"] > 1e-12) & (src["ratio"] >= 1), np.abs(src["j0_1"]) > 1e-12,
                 (src["W"] / src["Q_h"] < 12) | np.isnan(src["C1"])]
    keep = np.ones(128, bool)
    expect = {"total": 128}
    for text, m in zip(where, rules):
        keep &= m
        expect[text] = int(keep.sum())
    # NaN ratio (15 rows): kept by rule 1 (IEEE: "ratio < 10" is false there), dropped by rule 2
    assert np.isnan(src["ratio"]).sum() == 15 and np.all(rules[0][np.isnan(src["ratio"])])
    counts = filter_dataset(sweep, tmp_path / "f", where=where)
    assert counts == expect
    assert 0 < expect[where[-1]] < expect[where[1]] < expect[where[0]] < 128
    got = _arrays(tmp_path / "f")
    np.testing.assert_array_equal(got["config_id"], src["config_id"][keep])
    for c in FEATURES:  # every column kept, bit for bit
        np.testing.assert_array_equal(got[c].view(np.int64), src[c][keep].view(np.int64))
    m = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert m["counts"] == expect and m["rules"] == where and m["rows"] == expect[where[-1]]
    assert m["parameters"]["filtered"] is True and "paper_counts" not in m
    assert m["identity"]["columns"] == {**{c: "float64" for c in FEATURES}, "config_id": "int64"}
    assert m["fingerprint"] == _sha(m["identity"])


def test_default_is_the_paper_rules_with_an_unchanged_identity(sweep, tmp_path):
    src = _arrays(sweep)
    base = [c for c in FEATURES if c not in ("ratio", "C1", "C2", "C3", "C4")]
    finite = np.all([np.isfinite(src[c]) for c in base], axis=0)
    e0 = finite & (src["E0"] > 1e-12)
    j0 = e0 & np.all([np.abs(src[f"j0_{i}"]) > 1e-12 for i in range(1, 5)], axis=0)
    counts = filter_dataset(sweep, tmp_path / "paper")
    assert counts == {"total": 128, "finite": int(finite.sum()), "E0 > 1e-12": int(e0.sum()),
                      "|j0_i| > 1e-12": int(j0.sum())} == {"total": 128, "finite": 128, "E0 > 1e-12": 96,
                                                           "|j0_i| > 1e-12": 96}
    np.testing.assert_array_equal(_arrays(tmp_path / "paper")["config_id"], src["config_id"][j0])
    m = json.loads((tmp_path / "paper" / "manifest.json").read_text())
    source_fp = json.loads((sweep / "manifest.json").read_text())["fingerprint"]
    identity = {"format_version": 2, "kind": "filter", "source_fingerprint": source_fp,
                "rules": ["finite", "E0 > 1e-12", "|j0_i| > 1e-12"], "threshold": 1e-12,
                "columns": {**{c: "float64" for c in FEATURES}, "config_id": "int64"}}
    assert m["identity"] == identity and m["fingerprint"] == _sha(identity)
    assert m["paper_counts"]["final"] == 1_654_159 and m["parameters"]["threshold"] == 1e-12
    # the same rules written as --where keep the same rows (the finite test: abs(x) < inf)
    finite_rule = " and ".join(f"abs({c}) < inf" for c in base)
    where = [finite_rule, "E0 > 1e-12", " and ".join(f"abs(j0_{i}) > 1e-12" for i in range(1, 5))]
    assert list(filter_dataset(sweep, tmp_path / "w", where=where).values()) == list(counts.values())
    assert read_dataset(tmp_path / "w").equals(read_dataset(tmp_path / "paper"))


def test_where_on_a_dataset_of_other_columns(other, tmp_path):
    x = np.array([0.5, np.nan, 2.0, -1.0, np.inf, 3.0, 1.5, np.nan, -np.inf, 0.25])
    ids = np.arange(N)
    n, ok = ids * 3, ids % 3 != 0
    where = ["x > 0 or n >= 21", "ok", "n % 2 == 1 or x != x"]
    m1 = (x > 0) | (n >= 21)
    m2 = m1 & ok
    m3 = m2 & ((n % 2 == 1) | np.isnan(x))
    counts = filter_dataset(other, tmp_path / "f", where=where)
    assert counts == {"total": 10, where[0]: int(m1.sum()), where[1]: int(m2.sum()), where[2]: int(m3.sum())}
    assert list(counts.values()) == [10, 8, 5, 2]
    t = read_dataset(tmp_path / "f")
    np.testing.assert_array_equal(t.column("config_id").to_numpy(), ids[m3])
    assert t.column_names == list(OTHER_COLUMNS)
    assert t.schema.field("v").type == pa.list_(pa.float64(), 3) and t.schema.field("ok").type == pa.bool_()
    np.testing.assert_array_equal(np.stack(t.column("v").to_numpy(zero_copy_only=False)),
                                  np.arange(30.0).reshape(10, 3)[m3])
    np.testing.assert_array_equal(t.column("n").to_numpy(), n[m3])
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert manifest["identity"]["columns"] == OTHER_COLUMNS and manifest["counts"] == counts
    assert len(list((tmp_path / "f" / "data").glob("part-*.parquet"))) == 3
    part = pq.read_table(tmp_path / "f" / "data" / "part-000002.parquet")
    assert part.schema.metadata[b"qbjax.fingerprint"].decode() == manifest["fingerprint"]
    # a filtered dataset filters again (its parts are increasing subsets of their chunks)
    assert filter_dataset(tmp_path / "f", tmp_path / "g", where="x > 2") == {"total": 2, "x > 2": 1}
    np.testing.assert_array_equal(read_dataset(tmp_path / "g").column("config_id").to_numpy(), ids[m3 & (x > 2)])


def test_rules_read_only_the_columns_they_name():
    from qbjax.sweep.where import compile_rules, rule_masks

    rules = compile_rules(["x > 0", "ok and x < 2"], OTHER_COLUMNS)
    assert [r.columns for r in rules] == [("x",), ("x", "ok")]
    table = pa.table({"x": [1.0, np.nan, 3.0, 0.5], "ok": [True, True, True, False]})  # no n, v, config_id
    masks = rule_masks(rules, table)
    assert [m.tolist() for m in masks] == [[True, False, True, True], [True, False, False, False]]


@pytest.mark.parametrize("where, message", [
    ("x >", r"^rule 'x >' does not parse \(invalid syntax\)$"),
    ("x > 1 1", "does not parse"),
    ("zz > 1", r"^rule 'zz > 1': unknown column 'zz'; the dataset's columns: x, n, ok, v, config_id$"),
    ("x + 1", r"^rule 'x \+ 1' is not boolean \(it gives float64 values\)"),
    ("n", "is not boolean"),
    ("v > 1", r"column 'v' is a list column \(float64\[3\]\); rules use scalar columns only"),
    ("x.to_csv('f.csv')", "uses attribute access"),
    ("n[0] > 1", "uses indexing"),
    ("x > 0 & ok", r"uses the operator & \(write and\)"),
    ("ok and x", r"the operand 'x' of and is not boolean"),
    ("not n", r"the operand 'n' of not is not boolean"),
    ("isfinite(x)", r"calls isfinite\(\.\.\.\); rules may call only abs, sqrt"),
    ("x > 'a'", "uses the constant 'a'"),
    ([], "give one rule or a list of rules"),
    (["x > 0", " x  >  0 "], "rule 'x > 0' is given twice"),
    (["x > 0", ""], "non-empty expression"),
])
def test_bad_rules_are_refused_in_one_line(other, tmp_path, where, message):
    with pytest.raises(ValueError, match=message) as info:
        filter_dataset(other, tmp_path / "f", where=where)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "f").exists()  # refused before the output is touched


def test_paper_rules_need_a_four_level_dataset(other, tmp_path):
    with pytest.raises(ValueError, match="needs --where: the paper rules apply to four-level datasets only") as info:
        filter_dataset(other, tmp_path / "f")
    assert "\n" not in str(info.value) and "x, n, ok, v, config_id" in str(info.value)
    assert not (tmp_path / "f").exists()


def test_cli_where_repeatable(other, sweep, tmp_path, capsys):
    from qbjax.cli import main

    assert main(["filter", str(other), "--out", str(tmp_path / "c"), "--where", "x > 0 or n >= 21",
                 "--where", "ok"]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert [line[-2] for line in lines] == ["10", "8", "5"]
    assert lines[1][:5] == ["x", ">", "0", "or", "n"] and lines[2][0] == "ok"
    assert "paper:" not in out
    np.testing.assert_array_equal(read_dataset(tmp_path / "c").column("config_id").to_numpy(), [2, 4, 5, 7, 8])
    assert main(["filter", str(other), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qbjax filter: error: ") and "needs --where" in err and err.count("\n") == 1
    assert main(["filter", str(sweep), "--out", str(tmp_path / "e"), "--where", "zz > 1"]) == 2
    assert "unknown column 'zz'; the dataset's columns: T_c, T_h" in capsys.readouterr().err
    assert main(["filter", str(sweep), "--out", str(tmp_path / "p")]) == 0  # default: the paper rules
    assert "paper: 2,097,152 -> 2,085,878 -> 1,654,159" in capsys.readouterr().out
