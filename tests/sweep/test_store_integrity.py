"""The sweep store cannot be fooled: copied, foreign and corrupt parts, concurrent runs, lost manifests.

Every case starts from a copy of one small reference sweep (2^7 = 128 configurations in 8 parts of 16)
and ends, where the store repairs it, with a dataset equal bit for bit to the reference.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

import qbjax  # noqa: F401  (float64)
from qbjax.sweep import filter_dataset, read_dataset, run_sweep, store
from qbjax.sweep.lock import LOCK, DirectoryLocked, locked

POINTS, CHUNK, N_PARTS = 2, 16, 8


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("integrity") / "ref"
    run_sweep(out, points=POINTS, seed=0, chunk=CHUNK, progress=False)
    return out


@pytest.fixture(scope="module")
def seed_one(tmp_path_factory):
    """The same grid with another seed (the source of foreign parts)."""
    out = tmp_path_factory.mktemp("integrity") / "seed1"
    run_sweep(out, points=POINTS, seed=1, chunk=CHUNK, progress=False)
    return out


def _copy(ref, tmp_path, name="copy"):
    dst = tmp_path / name
    shutil.copytree(ref, dst)
    return dst


def _part(out, k):
    return out / "data" / f"part-{k:06d}.parquet"


def _same(a, b) -> bool:
    """Same columns and values bit for bit (NaN == NaN)."""
    if a.column_names != b.column_names or a.num_rows != b.num_rows:
        return False
    return all(np.array_equal(a.column(c).to_numpy().view(np.int64), b.column(c).to_numpy().view(np.int64))
               for c in a.column_names)


def _resume(out, capsys, **kw):
    """Resume ``out``; returns (stderr, the last run's process stats)."""
    run_sweep(out, points=POINTS, seed=kw.pop("seed", 0), resume=True, progress=False, **kw)
    err = capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows"] == 2**7
    return err, manifest["runs"][-1]["processes"][0]


def _repaired(out, ref, capsys, name: str, why: str):
    """Resume recomputes exactly the part ``name`` (one stderr line naming it and ``why``); the
    dataset is then the reference, every config_id once."""
    err, run = _resume(out, capsys)
    lines = [line for line in err.splitlines() if name in line]
    assert len(lines) == 1 and why in lines[0], err
    assert run["chunks_computed"] == 1 and run["chunks_skipped_existing"] == N_PARTS - 1
    got = read_dataset(out)
    np.testing.assert_array_equal(got.column("config_id").to_numpy(), np.arange(2**7))
    assert _same(got, read_dataset(ref))


def test_every_part_carries_its_identity(ref):
    manifest = json.loads((ref / "manifest.json").read_text())
    assert manifest["identity"]["seed"] == 0 and manifest["identity"]["chunk"] == CHUNK
    for k in range(N_PARTS):
        meta = {a.decode(): b.decode() for a, b in pq.read_metadata(_part(ref, k)).metadata.items()}
        assert meta["qbjax.fingerprint"] == manifest["fingerprint"]
        assert meta["qbjax.chunk"] == str(k)
        assert (meta["qbjax.config_id_start"], meta["qbjax.config_id_stop"]) == (str(16 * k), str(16 * k + 16))
        assert json.loads(meta["qbjax.identity"]) == manifest["identity"]


def test_copied_part_is_refused_by_readers_and_recomputed_on_resume(ref, tmp_path, capsys):
    out = _copy(ref, tmp_path)
    shutil.copyfile(_part(out, 6), _part(out, 5))  # 16 config_ids twice, 16 missing
    for read in (lambda: read_dataset(out), lambda: filter_dataset(out, tmp_path / "f")):
        with pytest.raises(ValueError, match=r"part-000005\.parquet: holds chunk 6 .*not chunk 5"):
            read()
    _repaired(out, ref, capsys, "part-000005.parquet", "holds chunk 6")


def test_part_of_a_sweep_with_another_seed_is_recomputed(ref, seed_one, tmp_path, capsys):
    out = _copy(ref, tmp_path)
    shutil.copyfile(_part(seed_one, 3), _part(out, 3))
    with pytest.raises(ValueError, match=r"part-000003\.parquet: belongs to another dataset \(seed: dataset 0, part 1\)"):
        read_dataset(out)
    _repaired(out, ref, capsys, "part-000003.parquet", "seed: dataset 0, part 1")


def _flip(path, offset: int, n: int = 8) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + n] = bytes(b ^ 0xFF for b in raw[offset:offset + n])
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("where", ["page header", "page values"])
def test_corrupt_page_inside_an_intact_footer(ref, tmp_path, capsys, where):
    out = _copy(ref, tmp_path)
    victim = _part(out, 2)
    meta = pq.read_metadata(victim)
    col = meta.row_group(0).column(meta.schema.names.index("W"))
    first = col.dictionary_page_offset or col.data_page_offset
    _flip(victim, first if where == "page header" else first + col.total_compressed_size - 8)
    assert pq.read_metadata(victim).num_rows == 16  # the footer still reads: the old row-count check passed
    with pytest.raises(ValueError, match=r"part-000002\.parquet: unreadable data"):
        filter_dataset(out, tmp_path / "f")
    from qbjax.cli import main

    assert main(["filter", str(out), "--out", str(tmp_path / "f2")]) == 2
    assert "part-000002.parquet: unreadable data" in capsys.readouterr().err
    _repaired(out, ref, capsys, "part-000002.parquet", "unreadable data")
    assert filter_dataset(out, tmp_path / "f") == filter_dataset(ref, tmp_path / "f3")  # the refused dst is reusable


def test_second_run_on_a_locked_directory_is_refused_at_once(ref, tmp_path, capsys):
    out = tmp_path / "busy"
    with locked(out, "sweep"):
        t0 = time.perf_counter()
        with pytest.raises(DirectoryLocked, match=rf"lock {out / LOCK} is held by pid {os.getpid()} on host"):
            run_sweep(out, points=POINTS, chunk=CHUNK, progress=False)
        assert time.perf_counter() - t0 < 30  # refused, not waited for
        from qbjax.cli import main

        assert main(["sweep", "--points", "2", "--chunk", str(CHUNK), "--out", str(out), "--no-progress"]) == 2
        assert str(out / LOCK) in capsys.readouterr().err
    assert not (out / "manifest.json").exists() and not (out / "data").exists()  # it wrote nothing
    run_sweep(out, points=POINTS, chunk=CHUNK, progress=False)  # the lock is free again
    assert _same(read_dataset(out), read_dataset(ref))


def test_lock_held_by_another_process(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    code = (f"import filelock, sys, time; lock = filelock.FileLock({str(out / LOCK)!r}, timeout=0); lock.acquire(); "
            "print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DirectoryLocked, match="in use by another run"):
            run_sweep(out, points=POINTS, chunk=CHUNK, progress=False)
    finally:
        holder.kill()
        holder.wait()


def test_temporary_files_are_unique_per_writer(tmp_path):
    final = tmp_path / "manifest.json"
    assert store.unique_tmp(final) != store.unique_tmp(final)
    assert f".{os.getpid()}-" in store.unique_tmp(final).name
    store.write_json_atomic(final, {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_parts_without_a_manifest_are_refused(ref, tmp_path):
    out = _copy(ref, tmp_path)
    (out / "manifest.json").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    for resume in (False, True):
        with pytest.raises(ValueError, match=r"holds part files but no manifest\.json: restore its manifest, or delete"):
            run_sweep(out, points=POINTS, seed=1, chunk=CHUNK, resume=resume, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == stamps


def test_resume_of_another_sweep_says_what_changed(ref, tmp_path):
    out = _copy(ref, tmp_path)
    with pytest.raises(ValueError, match=r"cannot resume .*seed: dataset 0, requested 4"):
        run_sweep(out, points=POINTS, seed=4, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"chunk: dataset 16, requested 8"):
        run_sweep(out, points=POINTS, chunk=8, resume=True, progress=False)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_learn_refuses_a_running_dataset_and_a_corrupt_part(ref, tmp_path):
    from qbjax.learn.data import load_dataset

    cols = load_dataset(ref)
    np.testing.assert_array_equal(cols["T_c"], read_dataset(ref).column("T_c").to_numpy())
    out = _copy(ref, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    for path in (out, out / "data"):
        with pytest.raises(ValueError, match=r"is not complete \(manifest status 'running'"):
            load_dataset(path)
    (out / "manifest.json").write_text(json.dumps(manifest))
    _flip(_part(out, 4), 4)
    with pytest.raises(ValueError, match=r"part-000004\.parquet: unreadable data"):
        load_dataset(out)


def test_multi_host_parts_copied_together_then_resume(ref, tmp_path, capsys):
    """Two hosts without a shared file system, P = 2: host 0 (the manifest) wrote the even chunks,
    host 1 the odd ones in its own directory; copied into host 0's directory, --resume computes none."""
    host0 = _copy(ref, tmp_path, "host0")
    manifest = json.loads((host0 / "manifest.json").read_text())
    (host0 / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    host1 = tmp_path / "host1"
    run_sweep(host1, points=POINTS, seed=0, chunk=CHUNK, progress=False)  # an independent run, same arguments
    for k in range(1, N_PARTS, 2):
        _part(host0, k).unlink()
        shutil.copy2(_part(host1, k), _part(host0, k))
    err, run = _resume(host0, capsys)
    assert run["chunks_computed"] == 0 and run["chunks_skipped_existing"] == N_PARTS, err
    assert "recomputing" not in err
    assert _same(read_dataset(host0), read_dataset(ref))


def test_part_checks_on_hand_made_metadata():
    exp = store.Expected("f" * 64, {"seed": 0}, chunk=16, n_configs=128)
    good = store.part_metadata(5, (80, 96), "f" * 64, {"seed": 0})
    assert store.metadata_problem(good, 5, exp) is None
    assert "no qbjax metadata" in store.metadata_problem({}, 5, exp)
    assert "seed: dataset 0, part 3" in store.metadata_problem(store.part_metadata(5, (80, 96), "e" * 64, {"seed": 3}),
                                                               5, exp)
    assert "config_ids 80..95, chunk 4 is 64..79" in store.metadata_problem({**good, "qbjax.chunk": "4"}, 4, exp)
    assert store.ids_problem(np.arange(80, 96), 80, 96, exact=True) is None
    dup = np.r_[np.arange(80, 95), 94]
    assert "1 duplicated, 1 missing" in store.ids_problem(dup, 80, 96, exact=True)
    assert store.ids_problem(np.array([81, 90]), 80, 96, exact=False) is None
    assert "increasing subset" in store.ids_problem(np.array([90, 81]), 80, 96, exact=False)
