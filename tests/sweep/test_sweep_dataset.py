"""qbjax sweep: dataset layout, dtypes, determinism, filtering counts, bad input (in-process, small grids).

Reference values come from NumPy computations written here (grid by hand, rules by hand), never
from the code under test.
"""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import qbjax  # noqa: F401  (float64)
from qbjax.models.four_level import FEATURES
from qbjax.sweep import filter_dataset, read_dataset, run_sweep
from qbjax.sweep.store import StorageError

POINTS, CHUNK = 3, 32  # 2187 configurations in 69 parts (the last one 11 rows)


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "ref"
    run_sweep(out, points=POINTS, seed=0, chunk=CHUNK, progress=False)
    return out


def _equal(a: pa.Table, b: pa.Table) -> bool:
    """Same columns, same values bit for bit (NaN == NaN)."""
    if a.column_names != b.column_names or a.num_rows != b.num_rows:
        return False
    for c in a.column_names:
        x, y = a.column(c).to_numpy(), b.column(c).to_numpy()
        if x.dtype.kind == "f":
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def test_layout_rows_and_dtypes(ref):
    manifest = json.loads((ref / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["rows"] == 3**7
    assert manifest["parameters"]["points"] == POINTS and manifest["parameters"]["chunk"] == CHUNK
    parts = sorted((ref / "data").glob("part-*.parquet"))
    assert len(parts) == -(-(3**7) // CHUNK) == 69
    assert not list((ref / "data").glob(".*"))  # no temporary file left
    assert pq.read_metadata(parts[-1]).num_rows == 3**7 - 68 * CHUNK
    t = read_dataset(ref)
    assert t.column_names == list(FEATURES) + ["config_id"]
    for name in FEATURES:
        assert t.schema.field(name).type == pa.float64(), name
    assert t.schema.field("config_id").type == pa.int64()
    np.testing.assert_array_equal(t.column("config_id").to_numpy(), np.arange(3**7))


def test_grid_values_match_a_hand_built_grid(ref):
    """Parameters per row against a grid built here with NumPy (Table I, nested C-order loops)."""
    rng = np.random.default_rng(0)
    axes = [np.sort(rng.uniform(0.1, 7.0, POINTS)) for _ in range(3)]
    axes += [np.sort(rng.uniform(0.1, 1.0, POINTS)) for _ in range(2)]
    axes += [np.sort(rng.uniform(0.01, 2.0, POINTS))]
    eps, d1, d2 = (rng.uniform(0.01, 2.0, POINTS) for _ in range(3))
    o = np.argsort(eps)
    trip = np.stack([eps[o], eps[o] + d1[o], eps[o] + d1[o] + d2[o]], 1)
    rows = []
    for a in axes[0]:
        for b in axes[1]:
            for c in axes[2]:
                for d in axes[3]:
                    for e in axes[4]:
                        for f in axes[5]:
                            for tr in trip:
                                rows.append((a, b, c, d, e, f, *tr))
    expect = np.array(rows)
    t = read_dataset(ref)
    got = np.stack([t.column(k).to_numpy() for k in ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "eps_b",
                                                      "eps_a")], 1)
    np.testing.assert_array_equal(got, expect)
    # derived columns against their definitions
    np.testing.assert_allclose(t.column("Q_h").to_numpy(), expect[:, 8] - expect[:, 6], rtol=0, atol=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = t.column("E").to_numpy() / t.column("E0").to_numpy()
    np.testing.assert_array_equal(np.isfinite(ratio), np.isfinite(t.column("ratio").to_numpy()))


def test_deterministic_and_seeded(ref, tmp_path):
    run_sweep(tmp_path / "again", points=POINTS, seed=0, chunk=CHUNK, progress=False)
    assert _equal(read_dataset(ref), read_dataset(tmp_path / "again"))
    run_sweep(tmp_path / "other", points=POINTS, seed=1, chunk=CHUNK, progress=False)
    other = read_dataset(tmp_path / "other")
    assert not np.array_equal(other.column("T_c").to_numpy(), read_dataset(ref).column("T_c").to_numpy())


def test_resume_of_complete_sweep_recomputes_nothing(ref, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(ref, dst)
    stamps = {p.name: p.stat().st_mtime_ns for p in (dst / "data").iterdir()}
    run_sweep(dst, points=POINTS, seed=0, resume=True, progress=False)  # chunk taken from the manifest
    assert {p.name: p.stat().st_mtime_ns for p in (dst / "data").iterdir()} == stamps
    run = json.loads((dst / "manifest.json").read_text())["runs"][-1]["processes"][0]
    assert run["chunks_computed"] == 0 and run["chunks_skipped_existing"] == 69


def _rule_counts_numpy(t: pa.Table):
    """The paper-000 dataset filters written out independently: non-finite (outside the quotients), E0, |j0_i|."""
    cols = {c: t.column(c).to_numpy() for c in t.column_names}
    base = [c for c in cols if c not in ("ratio", "C1", "C2", "C3", "C4", "config_id")]
    finite = np.all(np.stack([np.isfinite(cols[c]) for c in base]), axis=0)
    e0 = finite & (np.nan_to_num(cols["E0"], nan=-1.0) > 1e-12)
    j0 = e0.copy()
    for i in range(1, 5):
        j0 &= np.abs(np.nan_to_num(cols[f"j0_{i}"], nan=0.0)) > 1e-12
    return [len(finite), int(finite.sum()), int(e0.sum()), int(j0.sum())], j0


def test_filter_counts_on_small_grid(ref, tmp_path):
    t = read_dataset(ref)
    expect, keep = _rule_counts_numpy(t)
    counts = filter_dataset(ref, tmp_path / "f")
    assert list(counts.values()) == expect
    assert 0 < expect[-1] < expect[0]  # the small grid exercises the E0 rule
    f = read_dataset(tmp_path / "f")
    np.testing.assert_array_equal(f.column("config_id").to_numpy(), t.column("config_id").to_numpy()[keep])
    assert all(np.all(np.isfinite(f.column(c).to_numpy())) for c in FEATURES)
    assert json.loads((tmp_path / "f" / "manifest.json").read_text())["counts"] == counts


def test_filter_counts_on_synthetic_rows(tmp_path):
    """Hand-made rows, one per rule, with known counts."""
    from qbjax.sweep import store

    src = tmp_path / "syn"
    n = 7
    cols = {c: np.ones(n) for c in FEATURES}
    cols["E0"][1] = 0.0            # rule 2 (ratio would be inf: not a rule-1 failure)
    cols["ratio"][1] = np.inf
    cols["E0"][2] = 5e-13          # rule 2
    cols["j0_3"][3] = -1e-13       # rule 3
    cols["C3"][3] = np.nan
    cols["j4"][4] = np.nan         # rule 1
    cols["W"][5] = -np.inf         # rule 1
    store.check_storage(src, n)
    store.write_part(src, 0, cols, np.arange(n))
    store.write_json_atomic(src / "manifest.json", {"status": "complete", "parameters": {}})
    counts = filter_dataset(src, tmp_path / "dst")
    assert counts == {"total": 7, "finite": 5, "E0 > 1e-12": 3, "|j0_i| > 1e-12": 2}
    np.testing.assert_array_equal(read_dataset(tmp_path / "dst").column("config_id").to_numpy(), [0, 6])


@pytest.mark.parametrize("kwargs, name", [
    ({"points": 0}, "points"), ({"points": 2.5}, "points"), ({"seed": -1}, "seed"),
    ({"conventions": "printed"}, "conventions"), ({"chunk": 0}, "chunk"),
])
def test_bad_arguments_name_the_parameter(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        run_sweep(tmp_path / "x", **{"points": 2, **kwargs}, progress=False)
    assert not (tmp_path / "x").exists()


def test_existing_sweep_needs_resume_and_matching_parameters(ref):
    with pytest.raises(StorageError, match="--resume"):
        run_sweep(ref, points=POINTS, chunk=CHUNK, progress=False)
    with pytest.raises(ValueError, match="seed"):
        run_sweep(ref, points=POINTS, seed=3, chunk=CHUNK, resume=True, progress=False)
    with pytest.raises(ValueError, match="chunk"):
        run_sweep(ref, points=POINTS, chunk=64, resume=True, progress=False)


def test_unwritable_output_and_full_disk(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="not writable"):
        run_sweep(blocker / "out", points=2, progress=False)
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(StorageError, match="not enough disk space"):
        run_sweep(tmp_path / "full", points=2, progress=False)


def test_cli_sweep_and_filter(ref, tmp_path, capsys):
    from qbjax.cli import main

    assert main(["sweep", "--points", "3", "--chunk", str(CHUNK), "--out", str(tmp_path / "c"),
                 "--no-progress", "--filter"]) == 0
    out = capsys.readouterr().out
    assert "2,187 rows" in out and "1,654,159" in out
    assert _equal(read_dataset(tmp_path / "c"), read_dataset(ref))
    assert main(["filter", str(ref), "--out", str(tmp_path / "f2")]) == 0
    assert read_dataset(tmp_path / "f2").num_rows == read_dataset(tmp_path / "c" / "filtered").num_rows
    assert main(["sweep", "--points", "3", "--out", str(ref)]) == 2
    assert "--resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sweep", "--points", "0"])
