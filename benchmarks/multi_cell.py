"""Benchmark: three-cell MultiCellBattery (T_L, T_R) ergotropy map, qbjax vs a QuTiP loop (issue 8, item 5).

Workload: the paper's Fig. 5(c) map, three cells with w = 1, lam = 0.1, T_M = 1, a ``--n`` x ``--n``
(default 50 x 50) grid of (T_L, T_R) in [0, 2]^2: for each point the steady state of the global
secular master equation (64 x 64 Liouvillian) and its ergotropy.

* qbjax: ``jax.jit(jax.vmap(...))`` of ``three_cell(T_L, 1, T_R, 0.1).summary()`` over the whole grid;
  compile time (``.lower().compile()``) reported separately; run time best of ``--repeats``.
* QuTiP: per point, the Hamiltonian and collapse operators built with QuTiP objects (equal Bohr
  frequencies grouped in Python), ``qutip.steadystate(H, c_ops)`` (default method) and the ergotropy from
  ``numpy.linalg.eigvalsh``; run on ``--sample`` evenly spaced grid points and the per-point time
  extrapolated to the full grid (stated in the output).  The time of ``steadystate`` alone is shown too.

Agreement: max |rho_qbjax - rho_qutip| and max |W_qbjax - W_qutip| over the sampled points.

Run (from the repository root)::

    python benchmarks/multi_cell.py                 # 50 x 50, QuTiP on 250 points
    python benchmarks/multi_cell.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time

import numpy as np


def qutip_point(TL, TM, TR, lam, w=1.0):
    """(rho, W, t_steadystate) for one point, built and solved with QuTiP."""
    import qutip as qt

    n = 3
    sz, sx, eye = qt.sigmaz(), qt.sigmax(), qt.qeye(2)
    emb = lambda o, i: qt.tensor(*[o if j == i else eye for j in range(n)])  # noqa: E731
    H = sum(w / 2 * emb(sz, i) for i in range(n))
    for i in range(n):
        for j in range(i + 1, n):
            H = H + lam / 2 * emb(sz, i) * emb(sz, j)
    E = np.real(H.diag())
    c_ops = []
    for i, T in enumerate((TL, TM, TR)):
        X = emb(sx, i).full()
        groups = {}
        for k in range(2**n):
            for m in range(2**n):
                if X[k, m] != 0 and E[m] - E[k] > 1e-9:
                    key = round(E[m] - E[k], 9)
                    groups.setdefault(key, np.zeros((2**n, 2**n)))
                    groups[key][k, m] = 1.0
        for wv, A in groups.items():
            nb = 0.0 if T == 0 else 1.0 / np.expm1(wv / T)
            A = qt.Qobj(A, dims=H.dims)
            c_ops.append(np.sqrt(wv * (1 + nb)) * A)
            if nb > 0:
                c_ops.append(np.sqrt(wv * nb) * A.dag())
    t0 = time.perf_counter()
    rho = qt.steadystate(H, c_ops).full()
    t_ss = time.perf_counter() - t0
    r = np.linalg.eigvalsh(rho)[::-1]
    W = float(np.real(np.trace(rho @ H.full())) - np.sum(r * np.linalg.eigvalsh(H.full())))
    return rho, W, t_ss


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--sample", type=int, default=250, help="QuTiP points (evenly spaced over the grid)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.sample, args.repeats = 10, 10, 1

    import jax
    import jax.numpy as jnp

    import qbjax as qb
    from qbjax.models.multi_cell import three_cell

    TM, lam = 1.0, 0.1
    Ts = np.linspace(0.0, 2.0, args.n)
    TL, TR = (a.ravel() for a in np.meshgrid(Ts, Ts, indexing="ij"))
    N = TL.size
    load0 = os.getloadavg()

    f = jax.jit(jax.vmap(lambda a, b: three_cell(a, TM, b, lam).summary()))
    xl, xr = jnp.asarray(TL), jnp.asarray(TR)
    t0 = time.perf_counter()
    compiled = f.lower(xl, xr).compile()
    t_compile = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(xl, xr))
        times.append(time.perf_counter() - t0)
    t_qb = min(times)
    rho_qb = np.asarray(out["rho"])
    W_qb = np.asarray(out["ergotropy"])

    idx = np.unique(np.linspace(0, N - 1, min(args.sample, N)).round().astype(int))
    t_ss, drho, dW = 0.0, 0.0, 0.0
    t0 = time.perf_counter()
    for k in idx:
        rho, W, ts = qutip_point(TL[k], TM, TR[k], lam)
        t_ss += ts
        drho = max(drho, float(np.abs(rho - rho_qb[k]).max()))
        dW = max(dW, abs(W - float(W_qb[k])))
    t_qt = time.perf_counter() - t0
    per_qt = t_qt / len(idx)
    per_ss = t_ss / len(idx)
    per_qb = t_qb / N
    load1 = os.getloadavg()

    res = {
        "grid": f"{args.n} x {args.n} = {N}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load": (load0, load1),
        "precision": qb.get_precision(),
        "backend": jax.default_backend(),
        "versions": {"jax": jax.__version__, "numpy": np.__version__,
                     "qutip": __import__("qutip").__version__, "qbjax": qb.__version__},
        "qbjax_compile_s": t_compile,
        "qbjax_run_s": t_qb,
        "qbjax_per_point_us": per_qb * 1e6,
        "qutip_sample": len(idx),
        "qutip_per_point_ms": per_qt * 1e3,
        "qutip_steadystate_only_per_point_ms": per_ss * 1e3,
        "qutip_full_grid_extrapolated_s": per_qt * N,
        "ratio": per_qt / per_qb,
        "ratio_steadystate_only": per_ss / per_qb,
        "ratio_incl_compile": per_qt * N / (t_qb + t_compile),
        "max_abs_drho": drho,
        "max_abs_dW": dW,
        "max_W": float(np.nanmax(W_qb)),
    }
    for k, v in res.items():
        print(f"{k}: {v}")
    return res


if __name__ == "__main__":
    main()
