"""Bad input on the command line: one line on stderr, ``qbjax COMMAND: error: MESSAGE``, exit status 2,
no traceback, no run directory left behind; checked before any computation."""

import json

import numpy as np
import pytest

from qbjax.cli import main
from qbjax.learn.data import REQUIRED


def run_cli(argv, capsys):
    """``qbjax ARGV`` in-process: (exit status, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit through SystemExit(2)
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line_error(code, err, prog, *words):
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """Run in an empty directory, so that a default ``runs/COMMAND-<timestamp>`` would show."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QBJAX_DEBUG", raising=False)
    return tmp_path


def assert_nothing_written(cwd):
    assert sorted(p.name for p in cwd.iterdir() if p.name != "data") == [], list(cwd.rglob("*"))


# ---------------------------------------------------------------------------------------------
# numeric options: rejected by argparse, naming the option
# ---------------------------------------------------------------------------------------------

MICROMASER = ["optimize", "micromaser"]
FOUR_LEVEL = ["optimize", "four-level"]

BAD_OPTIONS = [
    (MICROMASER + ["--batches", "0"], "--batches", "got 0"),
    (MICROMASER + ["--batches", "-1"], "--batches", "got -1"),
    (MICROMASER + ["--batches", "1.5"], "--batches", "integer"),
    (MICROMASER + ["--starts", "0"], "--starts", "got 0"),
    (MICROMASER + ["--steps", "0"], "--steps", "got 0"),
    (MICROMASER + ["--seed", "-1"], "--seed", "got -1"),
    (MICROMASER + ["--lam", "nan"], "--lam", "got nan"),
    (MICROMASER + ["--lam", "inf"], "--lam", "got inf"),
    (MICROMASER + ["--lam", "-5"], "--lam", ">= 0"),
    (MICROMASER + ["--lam", "ten"], "--lam", "got ten"),
    (MICROMASER + ["--collisions", "0"], "--collisions", "got 0"),
    (MICROMASER + ["--levels", "1"], "--levels", ">= 2"),
    (MICROMASER + ["--g", "nan"], "--g", "finite"),
    (FOUR_LEVEL + ["--points", "0"], "--points", "got 0"),
    (FOUR_LEVEL + ["--starts", "0"], "--starts", "got 0"),
    (FOUR_LEVEL + ["--steps", "-3"], "--steps", "got -3"),
    (FOUR_LEVEL + ["--grid-seed", "-1"], "--grid-seed", "got -1"),
    (FOUR_LEVEL + ["--lr", "0"], "--lr", "> 0"),
    (FOUR_LEVEL + ["--lr", "nan"], "--lr", "got nan"),
    (FOUR_LEVEL + ["--e0-min", "-1"], "--e0-min", ">= 0"),
    (FOUR_LEVEL + ["--j0-min", "inf"], "--j0-min", "got inf"),
    (["learn", "x", "--size", "5"], "--size", ">= 10"),
    (["learn", "x", "--trials", "-1"], "--trials", "got -1"),
    (["learn", "x", "--seed", "-2"], "--seed", "got -2"),
    (["learn", "x", "--max-epochs", "0"], "--max-epochs", "got 0"),
    (["learn", "x", "--patience", "0"], "--patience", "got 0"),
    (["learn", "x", "--rf-estimators", "nan"], "--rf-estimators", "integer"),
    (["learn", "x", "--curve-max", "0"], "--curve-max", "got 0"),
    (["learn", "x", "--importance-rows", "3"], "--importance-rows", ">= 10"),
    (["sweep", "--points", "0"], "--points", "got 0"),
    (["sweep", "--chunk", "0"], "--chunk", "got 0"),
    (["sweep", "--seed", "-1"], "--seed", "got -1"),
]


@pytest.mark.parametrize("argv, option, detail", BAD_OPTIONS, ids=[" ".join(a[0]) for a in BAD_OPTIONS])
def test_bad_numeric_option_is_one_line(argv, option, detail, cwd, capsys):
    code, err = run_cli(argv, capsys)
    prog = "qbjax " + " ".join(a for a in argv[:2] if not a.startswith("-") and a != "x")
    assert_one_line_error(code, err, prog, option, detail)
    assert err.count(option) == 1  # not "argument --x: --x must ..."
    assert_nothing_written(cwd)


def test_other_argparse_errors_are_one_line(cwd, capsys):
    assert_one_line_error(*run_cli(["reproduce", "no-such-model"], capsys), "qbjax reproduce", "invalid choice")
    assert_one_line_error(*run_cli(["learn"], capsys), "qbjax learn", "dataset")
    assert_one_line_error(*run_cli([], capsys), "qbjax", "command")
    assert_nothing_written(cwd)


def test_option_combinations_are_checked_before_work(cwd, capsys):
    code, err = run_cli(MICROMASER + ["--collisions", "10", "--batches", "3"], capsys)
    assert_one_line_error(code, err, "qbjax optimize micromaser", "--collisions 10", "--batches 3")
    code, err = run_cli(FOUR_LEVEL + ["--e0-min", "0"], capsys)
    assert_one_line_error(code, err, "qbjax optimize four-level", "--e0-min", "ratio")
    code, err = run_cli(FOUR_LEVEL + ["--objective", "C4", "--j0-min", "0"], capsys)
    assert_one_line_error(code, err, "qbjax optimize four-level", "--j0-min", "C4")
    assert_nothing_written(cwd)


def test_leaking_truncation_is_refused(cwd, capsys):
    """--levels 5 over 20 collisions fills the top Fock level: an error, not a result."""
    argv = MICROMASER + ["--levels", "5", "--collisions", "20", "--starts", "1", "--steps", "1"]
    code, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, "qbjax optimize micromaser", "--levels 5", "|4>", "increase --levels")
    assert_nothing_written(cwd)


# ---------------------------------------------------------------------------------------------
# qbjax learn on datasets it cannot learn from
# ---------------------------------------------------------------------------------------------


def _columns(ratio):
    rng = np.random.default_rng(0)
    n = len(ratio)
    cols = {c: rng.uniform(0.1, 1.0, n) for c in REQUIRED}
    cols["ratio"] = np.asarray(ratio, np.float64)
    cols["config_id"] = np.arange(n, dtype=np.int64)
    return cols


def _write(path, ratio, manifest=None):
    """A dataset in the sweep layout: ``path/data/part-00000.parquet`` (+ ``manifest.json``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (path / "data").mkdir(parents=True)
    pq.write_table(pa.table(_columns(ratio)), path / "data" / "part-00000.parquet")
    if manifest is not None:
        (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def _two_class(n=200):
    return np.where(np.arange(n) % 2, 0.5, 1.0 + np.arange(n) / n)


def _learn(dataset, out, capsys):
    return run_cli(["learn", str(dataset), "--out", str(out), "--quiet", "--quick"], capsys)


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


def test_learn_missing_dataset(cwd, data, capsys):
    code, err = run_cli(["learn", str(data / "nope"), "--quiet"], capsys)
    assert_one_line_error(code, err, "qbjax learn", str(data / "nope"), "does not exist")
    assert_nothing_written(cwd)


def test_learn_unfiltered_dataset(cwd, data, capsys):
    ratio = _two_class()
    ratio[:7] = np.inf
    code, err = _learn(_write(data / "inf", ratio), cwd / "out", capsys)
    assert_one_line_error(code, err, "qbjax learn", "not filtered", "7 of 200", "qbjax filter")
    raw = _write(data / "raw", _two_class(), {"command": "sweep", "status": "complete"})
    code, err = _learn(raw, cwd / "out", capsys)
    assert_one_line_error(code, err, "qbjax learn", str(raw), "not filtered", "qbjax filter")
    assert_nothing_written(cwd)


def test_learn_empty_dataset(cwd, data, capsys):
    code, err = _learn(_write(data / "empty", []), cwd / "out", capsys)
    assert_one_line_error(code, err, "qbjax learn", str(data / "empty"), "no rows")
    (data / "hollow").mkdir()
    code, err = _learn(data / "hollow", cwd / "out", capsys)
    assert_one_line_error(code, err, "qbjax learn", str(data / "hollow"), "no Parquet file")
    assert_nothing_written(cwd)


@pytest.mark.parametrize("ratio, what", [(np.full(100, 0.5), "one class only: no row has ratio >= 1"),
                                         (1.0 + np.arange(100) / 100, "one class only: no row has ratio < 1"),
                                         (np.where(np.arange(100) % 2, 0.5, 2.0), "all have one value")])
def test_learn_one_class_dataset(ratio, what, cwd, data, capsys):
    code, err = run_cli(["learn", str(_write(data / "one", ratio)), "--quiet"], capsys)  # default runs/learn-*
    assert_one_line_error(code, err, "qbjax learn", str(data / "one"), what)
    assert_nothing_written(cwd)


def test_learn_checks_every_dataset_before_the_first_fit(cwd, data, capsys, monkeypatch):
    from qbjax.learn import pipeline

    def no_fit(*a, **k):
        raise AssertionError("learn() ran although a dataset is bad")

    monkeypatch.setattr(pipeline, "learn", no_fit)
    good = _write(data / "good", _two_class())
    code, err = run_cli(["learn", str(good), str(data / "nope"), "--out", str(cwd / "out")], capsys)
    assert_one_line_error(code, err, "qbjax learn", "does not exist")
    code, err = run_cli(["learn", str(good), "--names", "a", "b"], capsys)
    assert_one_line_error(code, err, "qbjax learn", "--names")
    assert_nothing_written(cwd)


def test_a_failure_during_the_work_removes_the_empty_run_directory(cwd, data, capsys, monkeypatch):
    from qbjax.learn import pipeline

    def failing(*a, **k):
        raise ValueError("class(es) [3] absent from TEST")

    monkeypatch.setattr(pipeline, "learn", failing)
    good = _write(data / "good", _two_class())
    code, err = run_cli(["learn", str(good), "--quiet"], capsys)
    assert_one_line_error(code, err, "qbjax learn", "absent from TEST")
    assert_nothing_written(cwd)
    keep = cwd / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    code, err = run_cli(["learn", str(good), "--quiet", "--out", str(keep)], capsys)
    assert code == 2 and (keep / "notes.txt").is_file()  # a directory that was there stays


def test_debug_reraises(cwd, capsys, monkeypatch):
    with pytest.raises(ValueError, match="does not exist"):
        main(["--debug", "learn", "nope"])
    monkeypatch.setenv("QBJAX_DEBUG", "1")
    with pytest.raises(ValueError, match="does not exist"):
        main(["learn", "nope"])
    monkeypatch.setenv("QBJAX_DEBUG", "0")
    assert_one_line_error(*run_cli(["learn", "nope"], capsys), "qbjax learn", "nope")


def test_help_documents_the_error_policy(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit status 2" in out and "--debug" in out and "QBJAX_DEBUG=1" in out
