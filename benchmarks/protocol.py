"""Benchmark: one charging-protocol optimisation, qbjax against SciPy + QuTiP.

Workload: the Tavis-Cummings battery (paper 003), N = 2 qubits, environment A (cavity loss at the
rate gamma0 exp(-lam t)), n_cavity = 6 (d = 18), start |J, J>|0>; the detuning Delta(t) piecewise
constant in ``--segments`` (20) equal segments on [0, t1] (t1 = 20), bounded to [0, 2 Delta*]
(Delta* = g sqrt(N / (2 gamma0)), Eq. 7); maximise the physical ergotropy of the reduced battery
state at t1.  Both start from the constant Delta(t) = Delta*.  Tolerances rtol 1e-8, atol 1e-10 in
both codes (finite differences need an accurate objective).

* qbjax: ``qb.optimize_protocol(model_fn, {"Delta": PiecewiseConstant(..., bounds=...)}, "ergotropy",
  t1, optimizer=optax.rprop(0.5), steps=...)``: exact reverse-mode gradients through diffrax, the
  whole loop one compiled ``lax.scan``.  It runs twice: the first run includes the compilation, the
  second (same problem, compiled loop reused) gives the run time; the time to reach a value at step k
  is taken as compile + (k / steps) x run time (steps cost alike).
* SciPy + QuTiP (what a user would write today): ``scipy.optimize.minimize(f, x0, method="L-BFGS-B",
  bounds=[(0, 2 Delta*)] * n, options={"eps": 1e-6, "maxiter": ...})`` with SciPy's default
  forward-difference gradients (n + 1 objective calls a gradient), f = -ergotropy from
  ``qutip.mesolve`` with H = H0 + Delta(t) a^dag a, Delta(t) a ``qutip.coefficient`` step function
  (``order=0`` on the segment edges, right-continuous as qbjax's control), the collapse operator
  sqrt(gamma0 exp(-lam t)) a as a ``QobjEvo``, final state only, and a NumPy ergotropy of its partial
  trace.  Every objective call is timestamped.

Check at the start: both objectives agree to 1e-6 at the start point (constant Delta) and to 1e-4 at
one random point, where QuTiP's integrator steps across the jumps of the step coefficient; there both
are also compared with QuTiP run segment by segment (constant H on each segment, exact breakpoints).
Reported: each code's final value, the target (99.9% of the lower final value, measured from the
start value: F0 + 0.999 (min(F_qbjax, F_scipy) - F0)), the time each needs to reach it, and the ratio;
the machine and the load average at start and end (a shared machine: the ratio of the same run is
what compares).

    PYTHONPATH=. python benchmarks/protocol.py            # default, about 8-10 minutes on 2 cores
    PYTHONPATH=. python benchmarks/protocol.py --quick    # t1 = 10, 10 segments, ~1-2 minutes
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax.numpy as jnp
import numpy as np
import optax

import qbjax as qb
from qbjax.control import PiecewiseConstant, protocol_value

N, G, G0, LAM, NC = 2, 0.1, 0.05, 0.05, 6
RTOL, ATOL = 1e-8, 1e-10


def _load():
    return "/".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def _cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def model_fn(v):
    return qb.models.TavisCummingsBattery(N, detuning=v["Delta"], g=G, gamma0=G0, lam=LAM, n_cavity=NC,
                                          environment="A")


def qutip_objective(t1, n_seg):
    """f(values) = ergotropy at t1 (QuTiP mesolve, step coefficient) and the list of call times."""
    import qutip as qt

    a = qt.tensor(qt.qeye(N + 1), qt.destroy(NC))
    jz = qt.tensor(qt.jmat(N / 2, "z"), qt.qeye(NC))
    jp = qt.tensor(qt.jmat(N / 2, "+"), qt.qeye(NC))
    nn = a.dag() * a
    H0 = (jz + N / 2) + nn + G * (jp * a + jp.dag() * a.dag())
    c_ops = [qt.QobjEvo([a, lambda t: np.sqrt(G0) * np.exp(-LAM * t / 2)])]
    rho0 = qt.ket2dm(qt.tensor(qt.basis(N + 1, 0), qt.basis(NC, 0)))
    levels = np.arange(N, -1, -1.0)  # H_B = J_z + N/2 on the Dicke basis (index 0: M = J)
    edges = np.linspace(0.0, t1, n_seg + 1)
    opts = {"store_states": False, "store_final_state": True, "atol": ATOL, "rtol": RTOL}
    calls = []

    def ergotropy(values, segmentwise=False):
        if segmentwise:  # reference: one mesolve per segment (constant H), stepping exactly onto the jumps
            rho = rho0
            for k, dl in enumerate(values):
                rho = qt.mesolve(H0 + dl * nn, rho, [edges[k], edges[k + 1]], c_ops=c_ops, options=opts).final_state
        else:
            coeff = qt.coefficient(np.append(values, values[-1]), tlist=edges, order=0)
            rho = qt.mesolve(qt.QobjEvo([H0, [nn, coeff]]), rho0, [0.0, t1], c_ops=c_ops, options=opts).final_state
        rb = rho.ptrace(0).full()
        p = np.linalg.eigvalsh(rb)[::-1]
        e = float(np.real(np.trace(rb @ np.diag(levels))))
        value = e - float(np.sum(p * np.sort(levels)))
        calls.append((time.perf_counter(), value))
        return value

    return ergotropy, calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="t1 = 10, 10 segments, fewer steps")
    ap.add_argument("--t1", type=float, default=None)
    ap.add_argument("--segments", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None, help="qbjax rprop steps")
    ap.add_argument("--maxiter", type=int, default=None, help="L-BFGS-B iterations")
    args = ap.parse_args(argv)
    t1 = args.t1 or (10.0 if args.quick else 20.0)
    n_seg = args.segments or (10 if args.quick else 20)
    steps = args.steps or (30 if args.quick else 100)
    maxiter = args.maxiter or (8 if args.quick else 40)
    d_star = G * np.sqrt(N / (2 * G0))
    hi = 2 * d_star
    import jax
    import qutip
    import scipy
    print(f"machine: {_cpu()}, nproc {os.cpu_count()}; load average at start {_load()}")
    print(f"versions: qbjax {qb.__version__}, jax {jax.__version__}, qutip {qutip.__version__}, scipy {scipy.__version__}")
    print(f"workload: Tavis-Cummings N = {N}, env A, n_cavity = {NC}, t1 = {t1:g}, {n_seg} segments of Delta in "
          f"[0, {hi:.4f}], ergotropy at t1; start Delta = Delta* = {d_star:.4f}; rtol {RTOL}, atol {ATOL}")

    # -- agreement of the two objectives --------------------------------------------------------
    f_qt, calls = qutip_objective(t1, n_seg)
    rng = np.random.default_rng(0)
    x0 = np.full(n_seg, d_star)
    for label, x, tol in (("start", x0, 1e-6), ("random point", rng.uniform(0.0, hi, n_seg), 1e-4)):
        u = PiecewiseConstant(x, t1, bounds=(0.0, hi))
        v_qb = float(protocol_value(model_fn, {"Delta": u}, "ergotropy", t1, rtol=RTOL, atol=ATOL))
        v_qt, v_ref = f_qt(x), f_qt(x, segmentwise=True)
        print(f"objective at the {label}: qbjax {v_qb:.9f}, QuTiP {v_qt:.9f}, |diff| {abs(v_qb - v_qt):.1e} "
              f"(tolerance {tol:.0e}); QuTiP segment by segment {v_ref:.9f}: |qbjax - it| {abs(v_qb - v_ref):.1e}, "
              f"|QuTiP step coefficient - it| {abs(v_qt - v_ref):.1e}")
        assert abs(v_qb - v_qt) < tol, "the two objectives disagree"
    calls.clear()

    # -- qbjax -------------------------------------------------------------------------------------
    u0 = {"Delta": PiecewiseConstant(x0, t1, bounds=(0.0, hi))}
    opt = optax.rprop(0.5)
    run = lambda: qb.optimize_protocol(model_fn, u0, "ergotropy", t1, optimizer=opt, steps=steps, rtol=RTOL,  # noqa: E731
                                       atol=ATOL, n_save=2)
    r1 = run()
    r2 = run()
    compile_s = max(r1.wall_s - r2.wall_s, 0.0)  # 0 when the load rose between the runs
    qb_hist = np.maximum.accumulate(r2.history[:, 0])
    print(f"qbjax: {steps} rprop steps, first run {r1.wall_s:.1f} s (compilation included), second run "
          f"{r2.wall_s:.1f} s ({1e3 * r2.wall_s / steps:.0f} ms a step with its gradient); final {r2.objective:.6f}")

    # -- SciPy + QuTiP ---------------------------------------------------------------------------
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    res = minimize(lambda x: -f_qt(x), x0, method="L-BFGS-B", bounds=[(0.0, hi)] * n_seg,
                   options={"eps": 1e-6, "maxiter": maxiter})
    sp_wall = time.perf_counter() - t0
    ts = np.array([c[0] for c in calls]) - t0
    sp_best = np.maximum.accumulate([c[1] for c in calls])
    print(f"SciPy L-BFGS-B + QuTiP: {res.nit} iterations, {len(calls)} mesolve calls "
          f"({1e3 * sp_wall / len(calls):.0f} ms each), {sp_wall:.1f} s; final {-res.fun:.6f} ({res.message})")

    # -- time to an equal value -------------------------------------------------------------------
    f0 = qb_hist[0]
    target = f0 + 0.999 * (min(r2.objective, -res.fun) - f0)
    k = int(np.argmax(qb_hist >= target))
    t_qb_run = (k + 1) / steps * r2.wall_s
    t_qb = compile_s + t_qb_run
    t_sp = float(ts[int(np.argmax(sp_best >= target))])
    print(f"target {target:.6f} (start {f0:.6f} + 99.9% of the way to the lower final value)")
    print(f"time to target: qbjax {t_qb:.1f} s ({compile_s:.1f} s compilation + {t_qb_run:.1f} s, step {k + 1}); "
          f"SciPy + QuTiP {t_sp:.1f} s")
    hit = sp_best >= r2.objective - 1e-9
    print(f"qbjax's final value {r2.objective:.6f}: SciPy + QuTiP " + (f"reaches it at {float(ts[int(np.argmax(hit))]):.1f} s"
          if hit.any() else f"does not reach it (best {sp_best[-1]:.6f})") + f"; qbjax reaches SciPy's final "
          f"{-res.fun:.6f} at step {int(np.argmax(qb_hist >= -res.fun - 1e-9)) + 1 if (qb_hist >= -res.fun - 1e-9).any() else None}")
    print(f"ratio SciPy+QuTiP / qbjax = {t_sp / t_qb:.2f}x with compilation, {t_sp / t_qb_run:.2f}x without")
    print(f"load average at end {_load()}")


if __name__ == "__main__":
    main()
