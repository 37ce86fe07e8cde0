"""Benchmark: the generic sweep engine ``qb.sweep(fn, grid, out)`` against a bare ``jit(vmap(fn))`` and QuTiP.

Part A, the engine's overhead per configuration.  Three functions of one configuration:

* ``user``: the driven-qubit battery of ``tests/sweep/user_battery.py`` (core API only: 2 x 2 state,
  4 x 4 Liouvillian; outputs energy, ergotropy, purity and the two populations as an array column),
  on a product grid of ``--user-n`` configurations (default 100,000);
* ``multi_cell``: ``qbjax.models.MultiCellBattery`` built inside ``fn`` from the configuration (three
  cells, w = 1, lam fixed, the bath temperatures T_L, T_M, T_R varying) and its ``features()``
  (ergotropy, energy, three heat currents, eight populations: 13 columns), on a product grid of
  ``--mc-side``^3 configurations (default 40^3 = 64,000);
* ``Tavis-Cummings``: the part-B function below (an ODE solve per configuration, so the engine's
  fixed cost per configuration is a small fraction of it), ``--tc-chunk`` configurations a chunk.

Per round, interleaved: ``qb.sweep(fn, grid, fresh_dir, chunk=--chunk, validate=...)`` (its manifest's
``timings_s``: ``compile`` and ``compute_write``, the loop that computes every chunk, copies it to the
host, adds the parameter columns and writes the Parquet parts; and the wall time of the call), then
the bare ``jax.jit(jax.vmap(fn))`` compiled once for the same chunk shape and called on the same
points chunk by chunk (the last chunk padded as the engine pads it), timed with
``block_until_ready``.  Reported: the best of ``--rounds`` of each, the ratio compute_write / bare
(goal <= 1.10) and the median of the same-round ratios.  Then where the engine's time goes: the
engine's own step (``function_job(...).compile``) driven chunk by chunk with a timer around each part
of the loop (compute, device-to-host copy, the host parameter columns, the non-finite check, the
Parquet encoding and write, the fsync, the rest of ``store.write_part``), and the same parts encoded
in memory without Parquet dictionary encoding (time and bytes, for comparison; not what the engine
writes).  What-if: each round also runs ``qb.sweep`` with ``pyarrow.parquet.write_table`` wrapped to
pass ``use_dictionary=False`` (values identical; only the Parquet encoding of the parts differs).

Part B, configurations per second against QuTiP (values checked on the timed points):

* multi-cell: the part-A sweep against a QuTiP loop (``benchmarks/multi_cell.py``'s ``qutip_point``:
  H and grouped collapse operators from QuTiP objects, ``qutip.steadystate``) on ``--mc-sample``
  evenly spaced configurations of the same grid;
* Tavis-Cummings: ``TavisCummingsBattery(N = 2, n_cavity = 3, environment "A").final_ergotropy(t1 =
  10)`` over a ``--tc-side``^2 grid of (detuning, gamma0) (default 100^2), the part-A sweep, against a
  QuTiP 5 ``mesolve`` loop over every configuration (the same H, L = a at rate gamma0 exp(-lam t),
  matched tolerances rtol 1e-6, atol 1e-8); and both codes at rtol 1e-10, atol 1e-12 on five
  configurations (the differences at the matched tolerances are the integrators' errors).

The load average (1/5/15 min) is printed at the start and the end of each part; the lines to paste
into ``benchmarks/RESULTS.md`` are printed last.

    python benchmarks/sweep_engine.py            # 5-7 minutes on 2 cores shared with other jobs
    python benchmarks/sweep_engine.py --quick    # 1-2 minutes (one round, small grids; compiling dominates)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "sweep"))

TC_N, TC_NC, TC_T1, TC_LAM, TC_G = 2, 3, 10.0, 0.05, 0.1
RTOL, ATOL = 1e-6, 1e-8


def _cpu_model() -> str:
    """The CPU's ``model name`` in /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# -- the workloads ---------------------------------------------------------------------------------
def user_workload(n: int):
    """(fn, grid, validate) of the driven-qubit user battery on a product grid of about ``n`` configs."""
    import user_battery

    import qbjax as qb

    side = max(2, round((n / 40) ** (1 / 3)))  # omega x Omega x gamma, T with 40 values
    grid = qb.grid.product(omega=np.linspace(0.5, 2.0, side), Omega=np.linspace(0.0, 1.0, side),
                           gamma=np.linspace(0.05, 0.5, side), T=np.linspace(0.1, 2.0, 40))
    return user_battery.features, grid, _positive("omega", "gamma", "T")


def mc_lam() -> float:
    return 0.1


def mc_features(config):
    """Three-cell MultiCellBattery (w = 1, lam fixed) built from one configuration: its features()."""
    import jax.numpy as jnp

    from qbjax.models import MultiCellBattery

    lam = config["lam"]
    T = jnp.stack([config["T_L"], config["T_M"], config["T_R"]])
    return MultiCellBattery(jnp.ones(3), lam * (1.0 - jnp.eye(3)), T).features(degenerate="nan")


def mc_workload(side: int):
    import qbjax as qb

    Ts = np.linspace(0.05, 2.0, side)
    grid = qb.grid.product(T_L=Ts, T_M=Ts, T_R=Ts).fix(lam=mc_lam())
    return mc_features, grid, _positive("T_L", "T_M", "T_R")


def tc_features(config):
    from qbjax.models import TavisCummingsBattery

    m = TavisCummingsBattery(TC_N, detuning=config["detuning"], gamma0=config["gamma0"], n_cavity=TC_NC,
                             environment="A", lam=TC_LAM, g=TC_G)
    return {"ergotropy": m.final_ergotropy(TC_T1, rtol=RTOL, atol=ATOL)}


def tc_workload(side: int):
    import qbjax as qb

    grid = qb.grid.product(detuning=np.linspace(0.0, 0.5, side), gamma0=np.linspace(0.02, 0.15, side))
    return tc_features, grid, _positive("gamma0")


def _positive(*names):
    def validate(params):
        for name in names:
            if np.min(params[name]) <= 0:
                raise ValueError(f"{name} must be > 0; got {name} = {np.min(params[name])}")
    return validate


# -- part A: the engine against the bare jit(vmap(fn)) ---------------------------------------------
def engine_run(fn, grid, validate, out: Path, chunk: int) -> dict:
    import qbjax as qb

    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    qb.sweep(fn, grid, out, chunk=chunk, validate=validate, progress=False)
    wall = time.perf_counter() - t0
    m = json.loads((out / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in (out / "data").glob("*.parquet"))
    return {"wall": wall, "compile": m["timings_s"]["compile"], "compute_write": m["timings_s"]["compute_write"],
            "parts": m["parts"], "mib": size / 2**20}


def bare_compiled(fn, grid, chunk: int):
    """``jax.jit(jax.vmap(fn))`` compiled for one chunk, and the chunks' parameters (NumPy, padded)."""
    import jax

    from qbjax._validate import set_validation

    n = len(grid)
    chunks = []
    for start in range(0, n, chunk):
        ids = np.full(chunk, n - 1, dtype=np.int64)
        ids[: min(chunk, n - start)] = np.arange(start, min(start + chunk, n))
        chunks.append(grid.params(ids))
    fixed = dict(grid.fixed)
    f = jax.jit(jax.vmap(lambda c: fn({**c, **fixed})))
    with set_validation(False):  # as the engine compiles it when the grid is validated up front
        compiled = f.lower(chunks[0]).compile()
    return compiled, chunks


def bare_run(compiled, chunks) -> float:
    import jax

    t0 = time.perf_counter()
    for c in chunks:
        jax.block_until_ready(compiled(c))
    return time.perf_counter() - t0


def breakdown(fn, grid, validate, out: Path, chunk: int) -> dict:
    """The engine's step driven chunk by chunk (synchronously), each part of the loop timed."""
    import jax

    from qbjax.sweep import runner, store
    from qbjax.sweep.job import function_job
    from qbjax.sweep.run import _expected

    if out.exists():
        shutil.rmtree(out)
    (out / store.DATA_DIR).mkdir(parents=True)
    job = function_job(fn, grid, validate=validate)
    devices = runner.sweep_devices(None)
    compiled, batch, replicated, _ = job.compile(devices, chunk)
    data = runner.put_axes(job.data, replicated)
    exp = _expected(job, chunk)
    jax.block_until_ready(compiled(data, jax.device_put(runner.step_ids([0], exp.n_configs, chunk, 1), batch)))
    t = dict.fromkeys(("compute", "to_host", "host_columns", "nonfinite", "write"), 0.0)
    inner = {"parquet_encode_write": 0.0, "fsync": 0.0}
    what_if = {"encode_no_dictionary": 0.0, "bytes": 0, "bytes_no_dictionary": 0}
    with _timed_calls(inner, what_if):
        _breakdown_loop(compiled, batch, data, job, exp, chunk, out, t)
    t["write"] -= sum(inner.values())  # the rest: Arrow arrays, schema and metadata, rename
    return {**{k: t[k] for k in ("compute", "to_host", "host_columns", "nonfinite")}, **inner,
            "write_other": t["write"]}, what_if


@contextlib.contextmanager
def _no_dictionary():
    """``pyarrow.parquet.write_table`` with ``use_dictionary=False`` (the what-if of part A)."""
    import pyarrow.parquet as pq

    saved = pq.write_table
    pq.write_table = lambda table, where, **kw: saved(table, where, **{**kw, "use_dictionary": False})
    try:
        yield
    finally:
        pq.write_table = saved


@contextlib.contextmanager
def _timed_calls(acc: dict, what_if: dict):
    """Time ``pyarrow.parquet.write_table`` and ``os.fsync`` (what ``store.write_part`` calls) into ``acc``;
    ``what_if``: the same tables encoded in memory without dictionary encoding (time and bytes, untimed
    in ``acc``), against the bytes of the written parts."""
    import io

    import pyarrow.parquet as pq

    saved = pq.write_table, os.fsync

    def timed(key, f):
        def g(*a, **kw):
            t0 = time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                acc[key] += time.perf_counter() - t0
        return g

    def write_table(table, where, **kw):
        timed("parquet_encode_write", saved[0])(table, where, **kw)
        what_if["bytes"] += where.tell()
        buf, t0 = io.BytesIO(), time.perf_counter()
        saved[0](table, buf, **{**kw, "use_dictionary": False})
        what_if["encode_no_dictionary"] += time.perf_counter() - t0
        what_if["bytes_no_dictionary"] += buf.tell()

    pq.write_table, os.fsync = write_table, timed("fsync", saved[1])
    try:
        yield
    finally:
        pq.write_table, os.fsync = saved


def _breakdown_loop(compiled, batch, data, job, exp, chunk, out, t):
    import jax

    from qbjax.sweep import runner, store
    from qbjax.sweep.run import _nonfinite

    for k in range(exp.n_chunks):
        ids = runner.step_ids([k], exp.n_configs, chunk, 1)
        t0 = time.perf_counter()
        result = jax.block_until_ready(compiled(data, jax.device_put(ids, batch)))
        t1 = time.perf_counter()
        a, b = exp.bounds(k)
        cols = {c: np.asarray(v)[: b - a] for c, v in result.items()}
        t2 = time.perf_counter()
        cols.update(job.host_columns(ids[: b - a]))
        t3 = time.perf_counter()
        _nonfinite(cols, b - a)
        t4 = time.perf_counter()
        store.write_part(out, k, cols, ids[: b - a], exp.fingerprint, (a, b), exp.identity)
        t5 = time.perf_counter()
        for key, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            t[key] += dt


def part_a(name: str, fn, grid, validate, base: Path, chunk: int, rounds: int, lines: list) -> dict:
    n = len(grid)
    load0 = _load()
    compiled, chunks = bare_compiled(fn, grid, chunk)
    bare_run(compiled, chunks)  # first call, untimed
    eng, plain, bare = [], [], []
    for r in range(rounds):
        eng.append(engine_run(fn, grid, validate, base / f"{name}-{r % 2}", chunk))
        with _no_dictionary():
            plain.append(engine_run(fn, grid, validate, base / f"{name}-plain", chunk))
        bare.append(bare_run(compiled, chunks))
    tb, what_if = breakdown(fn, grid, validate, base / f"{name}-breakdown", chunk)
    load1 = _load()
    best_cw, best_bare = min(e["compute_write"] for e in eng), min(bare)
    ratio = best_cw / best_bare
    med = float(np.median([e["compute_write"] / b for e, b in zip(eng, bare)]))
    best_wall = min(e["wall"] for e in eng)
    best_plain = min(e["compute_write"] for e in plain)
    med_plain = float(np.median([e["compute_write"] / b for e, b in zip(plain, bare)]))
    e0 = eng[0]
    total = sum(tb.values())
    parts = ", ".join(f"{k} {v:.3f} s ({100 * v / total:.0f}%)" for k, v in tb.items())
    plural = "s" if e0["parts"] != 1 else ""
    lines += [
        (f"{name}: {n:,} configurations, chunk {chunk} ({e0['parts']} part{plural}, {e0['mib']:.1f} MiB Parquet); "
         f"load {load0} -> {load1}"),
        (f"  qb.sweep compute_write {best_cw:.3f} s ({n / best_cw:,.0f} configs/s; {1e6 * best_cw / n:.2f} us/config), "
         f"compile {min(e['compile'] for e in eng):.1f} s, wall of the call {best_wall:.2f} s "
         f"({n / best_wall:,.0f} configs/s end to end); best of {rounds}"),
        (f"  bare jit(vmap(fn)), same chunks: {best_bare:.3f} s ({n / best_bare:,.0f} configs/s; "
         f"{1e6 * best_bare / n:.2f} us/config); best of {rounds}"),
        (f"  overhead ratio compute_write / bare = {ratio:.3f} (median of same-round ratios {med:.3f}; goal <= 1.10); "
         f"engine time per configuration beyond the bare call {1e6 * (best_cw - best_bare) / n:.2f} us"),
        f"  where the engine's loop goes (synchronous, one pass): {parts}",
        (f"  the same parts encoded without Parquet dictionary encoding: {what_if['encode_no_dictionary']:.3f} s "
         f"instead of {tb['parquet_encode_write']:.3f} s, {what_if['bytes_no_dictionary'] / 2**20:.1f} MiB instead "
         f"of {what_if['bytes'] / 2**20:.1f} MiB"),
        (f"  what-if, qb.sweep with dictionary encoding off (write_table wrapped; not the engine's default): "
         f"compute_write {best_plain:.3f} s, ratio to bare {best_plain / best_bare:.3f} (median of same-round "
         f"ratios {med_plain:.3f}), {plain[0]['mib']:.1f} MiB Parquet"),
    ]
    for line in lines[-7:]:
        print(line, flush=True)
    return {"n": n, "compute_write": best_cw, "bare": best_bare, "wall": best_wall,
            "compile": min(e["compile"] for e in eng), "out": base / f"{name}-0"}


# -- part B: QuTiP loops ----------------------------------------------------------------------------
def qutip_tc_point(delta, gamma0, rtol=RTOL, atol=ATOL):
    """Final physical ergotropy of the reduced Dicke state, QuTiP 5 mesolve (env A, from |J,J>|0>)."""
    import qutip as qt

    ops = _qutip_tc_ops()
    a, nn, H0, rho0 = ops["a"], ops["nn"], ops["H0"], ops["rho0"]
    c_ops = [qt.QobjEvo([a, lambda t, gam: np.sqrt(gam * np.exp(-TC_LAM * t))], args={"gam": gamma0})]
    opts = {"store_states": False, "store_final_state": True, "progress_bar": False, "atol": atol, "rtol": rtol}
    res = qt.mesolve(H0 + delta * nn, rho0, [0.0, TC_T1], c_ops=c_ops, args={"gam": gamma0}, options=opts)
    rho_b = res.final_state.ptrace(0).full()
    levels = np.arange(TC_N, -1, -1.0)  # H_B = w_b (J_z + N/2) in the jmat basis M = J, ..., -J
    r = np.sort(np.linalg.eigvalsh(rho_b))[::-1]
    return float(np.real(np.trace(rho_b @ np.diag(levels)))) - float(np.sum(r * np.sort(levels)))


def tc_tight(grid, k: int = 5) -> str:
    """qbjax and QuTiP at rtol 1e-10, atol 1e-12 on ``k`` configurations: the loose-tolerance
    differences above are the integrators' errors, not a difference of the models."""
    from qbjax.models import TavisCummingsBattery

    idx = np.linspace(0, len(grid) - 1, k).round().astype(int)
    p = grid.params(idx)
    m = TavisCummingsBattery(TC_N, detuning=p["detuning"], gamma0=p["gamma0"], n_cavity=TC_NC, environment="A",
                             lam=TC_LAM, g=TC_G)
    e_qb = np.asarray(m.final_ergotropy(TC_T1, rtol=1e-10, atol=1e-12))
    e_qt = np.array([qutip_tc_point(p["detuning"][i], p["gamma0"][i], 1e-10, 1e-12) for i in range(k)])
    return (f"  Tavis-Cummings at rtol 1e-10, atol 1e-12 (both codes, {k} configurations): "
            f"max |d ergotropy| = {np.abs(e_qb - e_qt).max():.1e}")


_OPS = {}


def _qutip_tc_ops():
    import qutip as qt

    if not _OPS:
        Jz = qt.tensor(qt.jmat(TC_N / 2, "z"), qt.qeye(TC_NC))
        Jp = qt.tensor(qt.jmat(TC_N / 2, "+"), qt.qeye(TC_NC))
        a = qt.tensor(qt.qeye(TC_N + 1), qt.destroy(TC_NC))
        nn = a.dag() * a
        H0 = (Jz + TC_N / 2) + nn + TC_G * (Jp * a + Jp.dag() * a.dag())
        rho0 = qt.ket2dm(qt.tensor(qt.basis(TC_N + 1, 0), qt.basis(TC_NC, 0)))
        _OPS.update(a=a, nn=nn, H0=H0, rho0=rho0)
    return _OPS


def part_b(name: str, eng: dict, grid, peer, idx, cols, lines: list, tol: float):
    """QuTiP on the configurations ``idx`` of ``grid`` (``peer(config) -> {col: value}``), compared with
    the dataset ``eng["out"]`` of the part-A sweep ``eng``."""
    import qbjax as qb

    load0 = _load()
    peer(grid[int(idx[0])])  # imports and first-call set-up, untimed
    t0 = time.perf_counter()
    got = [peer(grid[int(i)]) for i in idx]
    t_qt = time.perf_counter() - t0
    load1 = _load()
    table = qb.read_dataset(eng["out"]).take(np.asarray(idx))
    dev = {c: float(np.max(np.abs(table.column(c).to_numpy() - np.array([g[c] for g in got])))) for c in cols}
    rate_qt = len(idx) / t_qt
    n = eng["n"]
    r_run, r_end = n / eng["compute_write"], n / eng["wall"]
    agree = ", ".join(f"max |d {c}| = {v:.1e}" for c, v in dev.items())
    lines += [
        (f"{name}: QuTiP loop on {len(idx):,} of the {n:,} configurations: {t_qt:.2f} s ({rate_qt:,.1f} configs/s, "
         f"{1e3 / rate_qt:.1f} ms each); load {load0} -> {load1}"),
        (f"  qb.sweep {r_run:,.0f} configs/s after compilation, {r_end:,.0f} configs/s end to end "
         f"(compile {eng['compile']:.1f} s included); ratio qbjax / QuTiP = {r_run / rate_qt:,.1f}x after "
         f"compilation, {r_end / rate_qt:,.1f}x end to end"),
        f"  agreement on those configurations: {agree} (tolerance {tol:g})",
    ]
    for line in lines[-3:]:
        print(line, flush=True)
    assert all(v <= tol for v in dev.values()), dev


def mc_qutip(config):
    from multi_cell import qutip_point

    rho, W, _ = qutip_point(config["T_L"], config["T_M"], config["T_R"], config["lam"])
    return {"ergotropy": W, "energy": float(np.real(np.trace(rho @ _mc_h())))}


_H = {}


def _mc_h():
    if "H" not in _H:
        from qbjax.models.multi_cell import three_cell

        _H["H"] = np.asarray(three_cell(0.0, 0.0, 0.0, mc_lam()).hamiltonian())
    return _H["H"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--user-n", type=int, default=100_000, help="user-battery configurations (about)")
    ap.add_argument("--mc-side", type=int, default=40, help="multi-cell grid side (side^3 configurations)")
    ap.add_argument("--tc-side", type=int, default=100, help="Tavis-Cummings grid side (side^2 configurations)")
    ap.add_argument("--tc-chunk", type=int, default=2500, help="configurations per chunk (Tavis-Cummings)")
    ap.add_argument("--chunk", type=int, default=8192, help="configurations per chunk (part A)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mc-sample", type=int, default=100, help="multi-cell configurations for QuTiP")
    ap.add_argument("--quick", action="store_true", help="about a minute")
    args = ap.parse_args(argv)
    if args.quick:
        args.user_n, args.mc_side, args.tc_side, args.chunk, args.tc_chunk = 10_000, 16, 10, 2048, 100
        args.rounds, args.mc_sample = 1, 20

    import jax
    import pyarrow
    import qutip

    import qbjax as qb

    base = Path(tempfile.mkdtemp(prefix="qbjax-sweep-engine-bench-"))
    lines = [(f"machine: {_cpu_model()}, {len(os.sched_getaffinity(0))} cores (nproc), backend "
              f"{jax.default_backend()}, jax {jax.__version__}, qutip {qutip.__version__}, pyarrow "
              f"{pyarrow.__version__}, precision {qb.get_precision()} (float64); load average (1/5/15 min) at "
              f"start {_load()}")]
    print(lines[0], flush=True)
    try:
        res, work = {}, {"user battery": (user_workload(args.user_n), args.chunk),
                         "multi-cell features": (mc_workload(args.mc_side), args.chunk),
                         "Tavis-Cummings final ergotropy": (tc_workload(args.tc_side), args.tc_chunk)}
        for name, ((fn, grid, validate), chunk) in work.items():
            res[name] = part_a(name, fn, grid, validate, base, min(chunk, len(grid)), args.rounds, lines)
        grid = work["multi-cell features"][0][1]
        idx = np.unique(np.linspace(0, len(grid) - 1, args.mc_sample).round().astype(int))
        part_b("multi-cell", res["multi-cell features"], grid, mc_qutip, idx, ("ergotropy", "energy"), lines, 1e-10)
        grid = work["Tavis-Cummings final ergotropy"][0][1]
        part_b("Tavis-Cummings", res["Tavis-Cummings final ergotropy"], grid,
               lambda c: {"ergotropy": qutip_tc_point(c["detuning"], c["gamma0"])},
               np.arange(len(grid)), ("ergotropy",), lines, 1e-5)
        lines.append(tc_tight(grid))
        print(lines[-1], flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    lines.append(f"load average at end {_load()}")
    print(lines[-1])
    print("\n--- for benchmarks/RESULTS.md ---")
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    print(f"`python benchmarks/sweep_engine.py{' --quick' if args.quick else ''}` ({when})\n")
    for line in lines:
        print(f"- {line}" if not line.startswith("  ") else f"  - {line.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
