"""Sweeps in subprocesses: resume after SIGKILL, 4 host devices, two jax.distributed processes.

Each test runs twice: for the four-level Table-I grid (``run_sweep``) and for a battery that is not
one of qbjax's models (``user_battery.py``, swept with ``qbjax.sweep``).  Every result is compared bit
for bit with an uninterrupted one-device run in this process.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import qbjax  # noqa: F401
from qbjax.sweep import read_dataset, run_sweep, sweep
from qbjax.sweep.columns import column_array

POINTS = 3
#: chunk size and number of parts of each target: 3^7 = 2187 configurations / 32, and 480 / 8
CHUNKS = {"table-one": (32, 69), "user": (8, 60)}
ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("sweep_worker.py")


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start(target, args, **env):
    env = {**env, "SWEEP_WORKER_TARGET": target}
    return subprocess.Popen([sys.executable, str(WORKER), *map(str, args)], env=_env(**env), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _equal(a, b) -> bool:
    if a.column_names != b.column_names or a.num_rows != b.num_rows:
        return False
    for c in a.column_names:
        x, y = column_array(a, c), column_array(b, c)
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():  # bit for bit
            return False
    return True


def _run(target, out, **options):
    """The one-process run of ``target`` in this process."""
    chunk = CHUNKS[target][0]
    if target == "user":
        import user_battery

        return sweep(user_battery.features, user_battery.grid(), out, chunk=chunk, progress=False, **options)
    return run_sweep(out, points=POINTS, seed=0, chunk=chunk, progress=False, **options)


# the built-in model's copy runs with -m slow (its four subprocesses compile the table-one sweep for
# about a minute of CPU); the user's own battery runs by default and exercises the same resume,
# multi-device and multi-process code
@pytest.fixture(scope="module", params=[pytest.param("table-one", marks=pytest.mark.slow), "user"])
def target(request):
    return request.param


@pytest.fixture(scope="module")
def ref(tmp_path_factory, target):
    out = tmp_path_factory.mktemp("scaleout") / "ref"
    _run(target, out)
    return read_dataset(out)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory, target):
    """Start the subprocess runs at once (they compile in parallel): a run to be killed, a 4-device
    run and two jax.distributed processes."""
    base = tmp_path_factory.mktemp("jobs")
    port = _free_port()
    chunk = CHUNKS[target][0]
    procs = {
        "killed": _start(target, [base / "killed", POINTS, chunk]),
        "four": _start(target, [base / "four", POINTS, chunk],
                       XLA_FLAGS="--xla_force_host_platform_device_count=4", SWEEP_WORKER_ALL_DEVICES="1"),
        "dist0": _start(target, [base / "dist", POINTS, chunk, 0, 2, port]),
        "dist1": _start(target, [base / "dist", POINTS, chunk, 1, 2, port]),
    }
    yield base, procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()


def _finish(proc, timeout=240):
    if hasattr(proc, "finished_output"):
        return proc.finished_output
    out, _ = proc.communicate(timeout=timeout)
    proc.finished_output = out
    assert proc.returncode == 0, out
    assert "WORKER-DONE" in out
    return out


def test_resume_after_sigkill(jobs, ref, target):
    base, procs = jobs
    parts = CHUNKS[target][1]
    out, proc = base / "killed", procs["killed"]
    data = out / "data"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # kill once a few parts are written
        if data.is_dir() and len([p for p in os.listdir(data) if p.startswith("part-")]) >= 4:
            break
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = sorted(data.glob("part-*.parquet"))
    assert 4 <= len(done) < parts, "the run finished before the kill; the test did not interrupt it"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    with pytest.raises(ValueError, match="incomplete"):
        read_dataset(out)
    # also what a kill during a write would leave: a half-written temporary file and a truncated part
    last = int(done[-1].name[5:11])
    (data / f".part-{last + 1:06d}.parquet.tmp").write_bytes(b"PAR1 half a part")
    victim = done[1]
    victim.write_bytes(victim.read_bytes()[:100])
    stamps = {p.name: p.stat().st_mtime_ns for p in done if p != victim}

    _run(target, out, resume=True)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows"] == ref.num_rows
    run = manifest["runs"][-1]["processes"][0]
    assert run["chunks_skipped_existing"] == len(done) - 1  # the truncated part was recomputed
    assert run["chunks_computed"] == parts - len(done) + 1
    for p in done:  # nothing already written was recomputed
        if p != victim:
            assert p.stat().st_mtime_ns == stamps[p.name]
    assert not [p for p in os.listdir(data) if p.startswith(".")]
    got = read_dataset(out)
    np.testing.assert_array_equal(got.column("config_id").to_numpy(), np.arange(ref.num_rows))  # no dup, no loss
    assert _equal(got, ref)


def test_four_host_devices_equal_one(jobs, ref):
    base, procs = jobs
    _finish(procs["four"])
    manifest = json.loads((base / "four" / "manifest.json").read_text())
    assert len(manifest["runs"][-1]["processes"][0]["local_devices"]) == 4  # sharded over all four
    assert _equal(read_dataset(base / "four"), ref)


def test_two_distributed_processes_equal_one(jobs, ref, target):
    base, procs = jobs
    _finish(procs["dist0"])
    _finish(procs["dist1"])
    manifest = json.loads((base / "dist" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    shares = manifest["runs"][-1]["processes"]
    assert sorted(p["process_index"] for p in shares) == [0, 1]
    assert sum(p["chunks_computed"] for p in shares) == CHUNKS[target][1]
    assert all(p["chunks_computed"] > 0 for p in shares)
    assert _equal(read_dataset(base / "dist"), ref)


@pytest.mark.slow  # two more jax.distributed processes (~5 s quiet, 12 s under load)
def test_two_processes_report_a_bad_output_directory(jobs, target):
    """Process 0's refusal (existing sweep, no --resume) reaches process 1 instead of a hang."""
    base, procs = jobs
    _finish(procs["dist0"])
    _finish(procs["dist1"])
    port = _free_port()
    again = [_start(target, [base / "dist", POINTS, CHUNKS[target][0], i, 2, port]) for i in (0, 1)]
    for p in again:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 3, out
        assert "--resume" in out
