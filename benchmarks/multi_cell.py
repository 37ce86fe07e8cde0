"""Benchmark: three-cell MultiCellBattery (T_L, T_R) ergotropy map, qbjax vs a NumPy SVD reference and QuTiP.

Workload: the paper's Fig. 5(c) map, three cells with w = 1, lam = 0.1, T_M = 1, a ``--n`` x ``--n``
(default 50 x 50) grid of (T_L, T_R) in [0, 2]^2: for each point the steady state of the global
secular master equation and its ergotropy.

* qbjax: ``jax.jit(jax.vmap(...))`` of ``three_cell(T_L, 1, T_R, 0.1).summary()`` over the whole grid, the
  default solver (``steady="auto"``: away from level crossings the populations' 8 x 8 Pauli rate equation,
  see ``qbjax.models.multi_cell``), and the same with ``steady="liouvillian"`` (the full 64 x 64
  Liouvillian, the solver before the rate equation) for comparison.  Compile time (``.lower().compile()``,
  the best of two, interleaved) reported separately; run time per round the best of ``--inner`` calls.
* NumPy SVD reference: the full 64 x 64 Liouvillian of the grouped A_i(w) in NumPy (its unit dissipators
  built once for the map's (w, lam), as qbjax's vmap over temperatures does), per point the rates,
  L = L_H + sum_k r_k D_k, its null vector as the last right singular vector of ``numpy.linalg.svd(L)`` and
  the ergotropy from ``numpy.linalg.eigvalsh``; on ``--sample`` evenly spaced points per round.
* QuTiP: per point, the Hamiltonian and collapse operators built with QuTiP objects (equal Bohr
  frequencies grouped in Python), ``qutip.steadystate(H, c_ops)`` (default method) and the ergotropy from
  ``numpy.linalg.eigvalsh``; the ``--sample`` points split over the rounds (each round a different share).
  The time of ``steadystate`` alone is shown too.

Timing: after one untimed call of each (imports, first-call set-up), ``--rounds`` rounds, each running
qbjax, qbjax (Liouvillian), NumPy and QuTiP one after the other (interleaved, so the machine's load hits
all alike); per-point times of the peers are extrapolated to the full grid.  Reported: the best round of
each, the ratio of the bests and the median of the same-round ratios, and the load average
(``os.getloadavg``) at the start and the end.

Agreement: max |rho_qbjax - rho_peer| and max |W_qbjax - W_peer| over the sampled points, and the two qbjax
solvers against each other on the whole grid.

Run (from the repository root)::

    python benchmarks/multi_cell.py                 # 50 x 50, NumPy on 250 points a round, QuTiP on 250 in all
    python benchmarks/multi_cell.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import itertools
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


class NumpySVD:
    """The full secular Liouvillian in NumPy (row-major vec), null vector by SVD, for one (omega, coupling).

    H_S = sum_i w_i/2 sz_i + sum_{i<j} lam_ij/2 sz_i sz_j (cell 0 most significant, bit 0 = spin up); per bath
    the single flips of spin i grouped by equal Bohr frequency (rounded to 1e-9) into A_i(w) (lowering), with
    D[X] = X (x) X - (X^T X (x) 1)/2 - (1 (x) X^T X)/2 for the real X = A, A^T."""

    def __init__(self, omega, coupling):
        n = len(omega)
        d = 2**n
        bits = np.array(list(itertools.product((0, 1), repeat=n)))
        z = 1.0 - 2 * bits
        c = np.triu(np.asarray(coupling, dtype=float), 1)
        E = 0.5 * z @ np.asarray(omega, dtype=float) + 0.5 * np.einsum("ki,ij,kj->k", z, c, z)
        eye = np.eye(d)
        D, w, bath = [], [], []
        for i in range(n):
            groups = {}
            for a in range(d):
                b = a ^ (1 << (n - 1 - i))  # a with spin i flipped
                if E[a] - E[b] > 1e-9:  # a -> b lowers the energy
                    groups.setdefault(round(E[a] - E[b], 9), np.zeros((d, d)))[b, a] = 1.0
            for wv, A in groups.items():
                for X in (A, A.T):
                    XtX = X.T @ X
                    D.append(np.kron(X, X) - 0.5 * np.kron(XtX, eye) - 0.5 * np.kron(eye, XtX))
                w.append(wv)
                bath.append(i)
        self.E, self.d, self.w, self.bath = E, d, np.array(w), np.array(bath)
        self.D = np.array(D)
        self.LH = -1j * (np.kron(np.diag(E), eye) - np.kron(eye, np.diag(E)))
        self.E_sorted = np.sort(E)

    def point(self, T):
        """(rho, W) at the bath temperatures T (kappa = 1)."""
        T = np.asarray(T, dtype=float)[self.bath]
        nb = np.zeros_like(self.w)
        hot = T > 0
        nb[hot] = 1.0 / np.expm1(self.w[hot] / T[hot])
        r = np.stack([self.w * (1 + nb), self.w * nb], axis=1).ravel()  # per group: D[A], D[A^T]
        L = self.LH + np.einsum("k,kab->ab", r, self.D)
        x = np.linalg.svd(L)[2][-1].conj()  # right singular vector of the smallest singular value
        rho = x.reshape(self.d, self.d)
        rho = rho / np.trace(rho)
        rho = 0.5 * (rho + rho.conj().T)
        p = np.linalg.eigvalsh(rho)[::-1]
        return rho, float(np.real(np.diag(rho)) @ self.E - p @ self.E_sorted)


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
    ap.add_argument("--sample", type=int, default=250, help="NumPy points a round; QuTiP points in all")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--inner", type=int, default=5, help="qbjax calls a round (best taken)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.sample, args.rounds, args.inner = 10, 10, 2, 2

    import jax
    import jax.numpy as jnp

    import qbjax as qb
    from qbjax.models.multi_cell import three_cell

    TM, lam = 1.0, 0.1
    Ts = np.linspace(0.0, 2.0, args.n)
    TL, TR = (a.ravel() for a in np.meshgrid(Ts, Ts, indexing="ij"))
    N = TL.size
    load0 = os.getloadavg()

    xl, xr = jnp.asarray(TL), jnp.asarray(TR)
    jax.jit(lambda x: jnp.sin(x) @ x).lower(xl).compile()  # the backend's one-off start, outside the timings
    compiled, t_compile = {}, {}
    for name, steady in (("qbjax", "auto"), ("qbjax_liouvillian", "liouvillian")) * 2:  # best of two each
        f = jax.jit(jax.vmap(lambda a, b, s=steady: three_cell(a, TM, b, lam, steady=s).summary()))
        t0 = time.perf_counter()
        compiled[name] = f.lower(xl, xr).compile()
        t_compile[name] = min(t_compile.get(name, np.inf), time.perf_counter() - t0)
    ref = NumpySVD([1.0] * 3, lam * (1.0 - np.eye(3)))
    idx = np.unique(np.linspace(0, N - 1, min(args.sample, N)).round().astype(int))
    qt_chunks = np.array_split(idx, args.rounds)
    ref.point([TL[0], TM, TR[0]]), qutip_point(TL[0], TM, TR[0], lam)  # imports and first calls, untimed

    per = {k: [] for k in ("qbjax", "qbjax_liouvillian", "numpy_svd", "qutip", "qutip_steadystate")}
    out = {}
    dev = {"numpy_svd": [0.0, 0.0], "qutip": [0.0, 0.0]}  # max |drho|, max |dW| vs qbjax
    for r in range(args.rounds):
        for name, c in compiled.items():
            best = np.inf
            for _ in range(args.inner):
                t0 = time.perf_counter()
                out[name] = jax.block_until_ready(c(xl, xr))
                best = min(best, time.perf_counter() - t0)
            per[name].append(best / N)
        rho_qb, W_qb = np.asarray(out["qbjax"]["rho"]), np.asarray(out["qbjax"]["ergotropy"])
        t0 = time.perf_counter()
        res = [ref.point([TL[k], TM, TR[k]]) for k in idx]
        per["numpy_svd"].append((time.perf_counter() - t0) / len(idx))
        t_ss, t0 = 0.0, time.perf_counter()
        res_qt = []
        for k in qt_chunks[r]:
            rho, W, ts = qutip_point(TL[k], TM, TR[k], lam)
            t_ss += ts
            res_qt.append((rho, W))
        per["qutip"].append((time.perf_counter() - t0) / max(1, len(qt_chunks[r])))
        per["qutip_steadystate"].append(t_ss / max(1, len(qt_chunks[r])))
        for peer, rows, ks in (("numpy_svd", res, idx), ("qutip", res_qt, qt_chunks[r])):
            for (rho, W), k in zip(rows, ks):
                dev[peer][0] = max(dev[peer][0], float(np.abs(rho - rho_qb[k]).max()))
                dev[peer][1] = max(dev[peer][1], abs(W - float(W_qb[k])))
    load1 = os.getloadavg()

    best = {k: min(v) for k, v in per.items()}
    same_round = {k: float(np.median(np.array(per[k]) / np.array(per["qbjax"])))
                  for k in ("qbjax_liouvillian", "numpy_svd", "qutip", "qutip_steadystate")}
    solvers = max(float(np.abs(out["qbjax"][k] - out["qbjax_liouvillian"][k]).max()) for k in out["qbjax"])
    res = {
        "grid": f"{args.n} x {args.n} = {N}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_start": load0,
        "load_end": load1,
        "precision": qb.get_precision(),
        "backend": jax.default_backend(),
        "versions": {"jax": jax.__version__, "numpy": np.__version__,
                     "qutip": __import__("qutip").__version__, "qbjax": qb.__version__},
        "rounds": args.rounds,
        "qbjax_compile_s": t_compile["qbjax"],
        "qbjax_liouvillian_compile_s": t_compile["qbjax_liouvillian"],
        "qbjax_run_s": best["qbjax"] * N,
        "qbjax_per_point_us": best["qbjax"] * 1e6,
        "qbjax_liouvillian_per_point_us": best["qbjax_liouvillian"] * 1e6,
        "numpy_svd_sample_per_round": len(idx),
        "numpy_svd_per_point_us": best["numpy_svd"] * 1e6,
        "numpy_svd_full_grid_extrapolated_s": best["numpy_svd"] * N,
        "qutip_sample": len(idx),
        "qutip_per_point_ms": best["qutip"] * 1e3,
        "qutip_steadystate_only_per_point_ms": best["qutip_steadystate"] * 1e3,
        "qutip_full_grid_extrapolated_s": best["qutip"] * N,
        "ratio_liouvillian_path": best["qbjax_liouvillian"] / best["qbjax"],
        "ratio_numpy_svd": best["numpy_svd"] / best["qbjax"],
        "ratio_qutip": best["qutip"] / best["qbjax"],
        "ratio_qutip_steadystate_only": best["qutip_steadystate"] / best["qbjax"],
        "median_same_round_ratios": same_round,
        "ratio_qutip_incl_compile": best["qutip"] * N / (best["qbjax"] * N + t_compile["qbjax"]),
        "max_abs_drho_numpy_svd": dev["numpy_svd"][0],
        "max_abs_dW_numpy_svd": dev["numpy_svd"][1],
        "max_abs_drho_qutip": dev["qutip"][0],
        "max_abs_dW_qutip": dev["qutip"][1],
        "max_abs_diff_pauli_vs_liouvillian": solvers,
        "max_W": float(np.nanmax(np.asarray(out["qbjax"]["ergotropy"]))),
    }
    for k, v in res.items():
        print(f"{k}: {v}")
    return res


if __name__ == "__main__":
    main()
