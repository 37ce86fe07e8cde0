"""Micromaser benchmark (issue 7, item 7): qbjax vs a NumPy block implementation of the same map.

1. the loss of Eq. (11) (1000 collisions, 120 levels, lam = 10, tail 0.2): the NumPy forward pass
   (value only), the qbjax forward pass (jitted ``Micromaser.loss``, value only) and the qbjax value
   and gradient with respect to (c, q) (jitted ``jax.value_and_grad``), timed in the same run and
   interleaved (each round runs all three back to back; best of ``--rounds`` rounds, default 7), with
   two ratios: NumPy forward / qbjax (> 1: qbjax faster) and qbjax value+grad / qbjax forward;
2. a full lam = 10 optimisation: qbjax (Optax L-BFGS, exact gradients) vs SciPy L-BFGS-B with finite
   differences on the NumPy loss, same start;
3. the same for a 20-batch protocol (40 parameters).
BLAS/LAPACK run single-threaded for both sides (``--blas-threads``, default 1; 0 keeps the libraries'
default): the loss's 120 x 120 eigendecomposition takes ~1 ms on one thread, while a two-thread
OpenBLAS on a loaded two-core machine takes 20-100 ms and swamps the timings of both implementations.
Run: python benchmarks/micromaser.py [--only-loss] [--skip-20] [--only-20] [--scipy-cap SECONDS] [--rounds R]
         [--blas-threads T]
  --only-loss: item 1 only; --skip-20: skip item 3; --only-20: run item 3 only; --scipy-cap: wall-clock cap
  of SciPy in item 3
  (default: min(30x qbjax's wall time, 90 s)); SciPy also reports when it first reaches qbjax's loss.
Prints the load average at start and end and a markdown table.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

import jax
import jax.numpy as jnp

from qbjax.models.micromaser import Micromaser
from qbjax.optimize import optimize_micromaser

G = math.pi / math.sqrt(15.6)
N, n = 120, 1000


def numpy_loss(c, q, lam, tail, n=n, N=N, g=G):
    """Eq. (11) with the 2x2-block map in NumPy (real gauge, O(N^2) per collision)."""
    c = np.broadcast_to(np.atleast_1d(c), (np.size(q),)) if np.size(c) == 1 else np.asarray(c)
    q = np.atleast_1d(q)
    B = len(q)
    cs, qs = np.repeat(c, n // B), np.repeat(q, n // B)
    k = np.arange(N)
    cg, sg = np.cos(g * np.sqrt(k)), np.sin(g * np.sqrt(k))
    ce, se = np.cos(g * np.sqrt(k + 1)), np.sin(g * np.sqrt(k + 1))
    ce[-1], se[-1] = 1.0, 0.0
    sgp = np.r_[sg[1:], 0.0]
    sem = np.r_[0.0, se[:-1]]
    M = [np.outer(a, b) for a, b in ((cg, cg), (sgp, sgp), (ce, ce), (sem, sem), (cg, sem), (sem, cg), (sgp, ce), (ce, sgp))]
    R = np.zeros((N, N))
    R[0, 0] = 1
    P = np.zeros((N + 2, N + 2))
    E = np.zeros(n + 1)
    for i in range(n):
        cc, qq = cs[i], qs[i]
        x = cc * math.sqrt(max(qq * (1 - qq), 0.0))
        P[1:-1, 1:-1] = R
        R = ((qq * M[0] + (1 - qq) * M[2]) * R + qq * M[1] * P[2:, 2:] + (1 - qq) * M[3] * P[:-2, :-2]
             + x * (M[4] * P[1:-1, :-2] + M[5] * P[:-2, 1:-1] - M[6] * P[2:, 1:-1] - M[7] * P[1:-1, 2:]))
        E[i + 1] = np.diagonal(R) @ k
    W = E[-1] - np.linalg.eigvalsh(R)[::-1] @ k
    m = int(math.floor(tail * n + 1e-9))
    a, b = 1 - cs.mean(), 1 - qs.mean()
    den = W + a + b
    return (-W * a * b / den if den > 0 else 0.0) + lam * np.abs(np.diff(E[n - m:])).sum()


def interleaved(fns, rounds):
    """Best wall time of each callable over ``rounds`` rounds, each round running all of them once
    in turn (the same load for all), and each one's last result."""
    times, outs = {k: [] for k in fns}, {}
    for _ in range(rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            outs[k] = jax.block_until_ready(f())
            times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}, outs


def blas_threads(n):
    """A context limiting BLAS/LAPACK to n threads (threadpoolctl; a no-op for n = 0 or without it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("# threadpoolctl not installed: BLAS/LAPACK threads left at the libraries' default", flush=True)
        return contextlib.nullcontext()
    return threadpool_limits(n) if n > 0 else contextlib.nullcontext()


def scipy_opt(lam, x0, tail):
    B = len(x0) // 2
    nev = [0]

    def f(x):
        nev[0] += 1
        return numpy_loss(x[:B], x[B:], lam, tail)

    t = time.perf_counter()
    r = minimize(f, x0, method="L-BFGS-B", bounds=[(0, 1)] * len(x0))
    return time.perf_counter() - t, r.fun, nev[0], r


def _arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    with blas_threads(int(_arg("--blas-threads", 1))):
        _main()


def _main():
    rows = []
    only20 = "--only-20" in sys.argv
    cap = _arg("--scipy-cap")
    print(f"# load average at start: {os.getloadavg()}", flush=True)
    start = np.array([0.6, 0.35])
    if not only20:
        m = Micromaser(G, n_levels=N, on_truncation="ignore")
        lf = jax.jit(lambda p: m.loss(p[0], p[1], n, 10.0, 0.2))
        vg = jax.jit(jax.value_and_grad(lambda p: m.loss(p[0], p[1], n, 10.0, 0.2)))
        p = jnp.array([0.39, 0.168])
        t0 = time.perf_counter(); lf(p).block_until_ready(); c_l = time.perf_counter() - t0
        t0 = time.perf_counter(); vg(p)[1].block_until_ready(); c_vg = time.perf_counter() - t0
        numpy_loss(0.39, 0.168, 10.0, 0.2)  # warm
        rounds = int(_arg("--rounds", 7))
        t, out = interleaved({"np": lambda: numpy_loss(0.39, 0.168, 10.0, 0.2), "fwd": lambda: lf(p),
                              "vg": lambda: vg(p)}, rounds)
        v_np, v_q = out["np"], float(out["fwd"])
        print(f"# loss (n={n}, N={N}), one run, best of {rounds} interleaved rounds: NumPy forward {t['np']:.4f} s, "
              f"qbjax forward {t['fwd']:.4f} s, qbjax value+grad {t['vg']:.4f} s; NumPy forward / qbjax value+grad = "
              f"{t['np'] / t['vg']:.2f}x, qbjax value+grad / qbjax forward = {t['vg'] / t['fwd']:.2f}x; "
              f"load {os.getloadavg()}", flush=True)
        rows.append(["loss (n=1000, N=120)", "qbjax jit (forward)", f"{t['fwd']:.4f}", f"{t['np'] / t['fwd']:.2f}x",
                     f"|diff| {abs(v_q - v_np):.1e}", f"compile {c_l:.1f} s"])
        rows.append(["value+grad", "qbjax jit (custom adjoint)", f"{t['vg']:.4f}", f"{t['np'] / t['vg']:.2f}x",
                     f"{t['vg'] / t['fwd']:.2f}x its own forward", f"compile {c_vg:.1f} s"])
        rows.append(["loss", "NumPy block forward", f"{t['np']:.4f}", "1.00x", f"{v_np:.10f}", ""])
    if not only20 and "--only-loss" not in sys.argv:
        res = optimize_micromaser(lam=10.0, n_collisions=n, starts=0, init=[[tuple(start)]], max_steps=60, progress=None)
        t_sp, f_sp, nev, r = scipy_opt(10.0, np.r_[start[0], start[1]], 0.2)
        rows.append(["opt lam=10, 1 batch", "qbjax L-BFGS (Optax)", f"{res['wall_s']:.1f}", f"{t_sp / res['wall_s']:.2f}x",
                     f"loss {res['loss']:.8f} at ({res['c'][0]:.4f}, {res['q'][0]:.4f})", f"{res['n_steps']} iters (incl. compile)"])
        rows.append(["opt lam=10, 1 batch", "SciPy L-BFGS-B + FD (NumPy)", f"{t_sp:.1f}", "1.00x",
                     f"loss {f_sp:.8f} at ({r.x[0]:.4f}, {r.x[1]:.4f})", f"{nev} loss evaluations"])
    if "--skip-20" not in sys.argv and "--only-loss" not in sys.argv:
        B = 20
        rng = np.random.default_rng(0)
        x0 = np.r_[np.full(B, start[0]), np.full(B, start[1])] + rng.uniform(-0.02, 0.02, 2 * B)
        init = [np.stack([x0[:B], x0[B:]], axis=1)]
        res = optimize_micromaser(lam=10.0, batches=B, n_collisions=n, tail=0.1, starts=0, init=init, max_steps=60, progress=None)
        budget = float(cap) if cap is not None else min(30 * res["wall_s"], 90.0)  # SciPy wall-clock cap
        target = float(res["loss"])
        t0 = time.perf_counter()
        nev = [0]
        reached = [None]  # (time, evaluations) when SciPy first evaluates a loss <= qbjax's
        lowest = [np.inf]
        last_log = [t0]

        def f(x):
            nev[0] += 1
            if time.perf_counter() - t0 > budget:
                raise StopIteration
            val = numpy_loss(x[:B], x[B:], 10.0, 0.1)
            lowest[0] = min(lowest[0], val)
            now = time.perf_counter()
            if reached[0] is None and val <= target:
                reached[0] = (now - t0, nev[0])
            if now - last_log[0] > 60:
                last_log[0] = now
                print(f"# scipy {now - t0:.0f} s, {nev[0]} evals, lowest loss {lowest[0]:.8f} (qbjax {target:.8f}), "
                      f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
            return val

        best_f = [np.inf]

        def cb(xk):
            best_f[0] = min(best_f[0], numpy_loss(xk[:B], xk[B:], 10.0, 0.1))

        try:
            r = minimize(f, x0, method="L-BFGS-B", bounds=[(0, 1)] * (2 * B), callback=cb)
            f_sp, note = r.fun, f"{nev[0]} loss evaluations, converged"
        except StopIteration:
            f_sp, note = best_f[0], f"{nev[0]} loss evaluations, STOPPED at the {budget:.0f} s cap: best iterate so far"
        t_sp = time.perf_counter() - t0
        if reached[0] is not None:
            t_hit = reached[0][0]
            note += f"; first reached qbjax's loss after {t_hit:.1f} s ({reached[0][1]} evaluations)"
            ratio = f"{t_hit / res['wall_s']:.1f}x (time to qbjax's loss)"
        else:
            note += f"; never reached qbjax's loss (lowest evaluated {lowest[0]:.8f})"
            ratio = f"{t_sp / res['wall_s']:.1f}x (>=)"
        rows.append(["opt lam=10, 20 batches", "qbjax L-BFGS (Optax)", f"{res['wall_s']:.1f}", ratio,
                     f"loss {res['loss']:.8f}", f"{res['n_steps']} iters (incl. compile)"])
        rows.append(["opt lam=10, 20 batches", "SciPy L-BFGS-B + FD (NumPy)", f"{t_sp:.1f}", "1.00x", f"loss {f_sp:.8f}", note])
    print(f"# load average at end: {os.getloadavg()}", flush=True)
    print("| benchmark | implementation | time (s) | ratio (peer time / this) | result | note |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
