"""Benchmark: one 15 x 15 ergotropy survival map of the Tavis-Cummings battery (issue 10, item 4).

Workload: paper 003's Fig. 2 map for N = 4, environment B (thermal cavity + dephasing), n_cavity = 6
(d = 30), Delta in linspace(0, 0.5, 15) x gamma0 in linspace(0.02, 0.15, 15); per point the master
equation from |J, J>|0> over t in [0, 20] and the final (physical) ergotropy of the reduced battery
state.  Matched tolerances: rtol = 1e-6, atol = 1e-8 (QuTiP mesolve's defaults) for all codes.

* qbjax, array route: ``TavisCummingsBattery(4, Delta_grid, gamma0_grid, environment="B").final_ergotropy(20)``
  under ``jax.jit``: the whole map is ONE diffrax Tsit5 solve in the excitation-sector form (batch
  last; the step controller takes the max over the map of each point's RMS error).
* qbjax, vmap route: ``jax.jit(jax.vmap(lambda d, g: TavisCummingsBattery(4, d, g, environment="B")
  .final_ergotropy(20)))`` over the 225 points as scalars (user code written per point); the model's
  ``custom_vmap`` rule turns it into the same single batched solve.
  Both: compile time reported apart; run time best of ``--repeats``, the two routes timed interleaved.
* QuTiP 5 (lean loop): operators built once; per point H = H0 + Delta a^dag a, ``QobjEvo`` collapse
  operators with Python coefficient functions (as in the paper's code), ``mesolve(H, rho0, [0, 20],
  c_ops, options={"store_states": False, "store_final_state": True})`` keeping only the final state, and
  a NumPy ergotropy of its partial trace; all 225 points timed (``--sample`` to time fewer and
  extrapolate, stated in the output), once per round, interleaved with qbjax (best of the rounds).
* dynamiqs (if importable): ``dq.mesolve`` with the whole map batched (``cartesian_batching=False``:
  H of shape (225, d, d), jump operators modulated by (225,)-shaped rates), ``dq.method.Tsit5`` with the
  same tolerances, ``save_states=False``; compile separate, best of ``--repeats``.

Agreement: max |E_vmap - E_array| and max |E_qbjax - E_qutip| (and dynamiqs) over the timed points.
The machine's load average is printed at the start and at the end (a shared machine: compare the
ratios, measured in the same run under the same load, rather than the absolute times).

Run (from the repository root)::

    python benchmarks/tavis_cummings.py            # full map, QuTiP on all 225 points
    python benchmarks/tavis_cummings.py --quick    # 5 x 5 smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

N, NC, G, N0, OMEGA, GPHI, T1 = 4, 6, 0.1, 0.1, np.pi / 5, 0.02, 20.0


def grid(n):
    return np.linspace(0.0, 0.5, n), np.linspace(0.02, 0.15, n)


def _ergotropy_np(rho_b):
    r = np.sort(np.linalg.eigvalsh(rho_b))[::-1]
    return float(np.real(np.trace(rho_b @ np.diag(np.arange(N, -1, -1.0))))) - float(np.sum(r * np.arange(N + 1)))


def qutip_map(deltas, gammas, rtol, atol):
    import qutip as qt

    Jz = qt.tensor(qt.jmat(N / 2, "z"), qt.qeye(NC))
    Jp = qt.tensor(qt.jmat(N / 2, "+"), qt.qeye(NC))
    a = qt.tensor(qt.qeye(N + 1), qt.destroy(NC))
    nn = a.dag() * a
    H0 = (Jz + N / 2) + nn + G * (Jp * a + Jp.dag() * a.dag())
    rho0 = qt.ket2dm(qt.tensor(qt.basis(N + 1, 0), qt.basis(NC, 0)))

    def em(t, gam):
        return np.sqrt(gam * (1 + N0 * (1 + np.sin(OMEGA * t) ** 2)))

    def ab(t, gam):
        return np.sqrt(gam * N0 * (1 + np.sin(OMEGA * t) ** 2))

    c_ops = [qt.QobjEvo([a, em], args={"gam": 0.05}), qt.QobjEvo([a.dag(), ab], args={"gam": 0.05}),
             np.sqrt(GPHI) * Jz]
    opts = {"store_states": False, "store_final_state": True, "progress_bar": False, "atol": atol, "rtol": rtol}
    out = np.zeros(len(deltas))
    t = time.perf_counter()
    for k, (dl, gam) in enumerate(zip(deltas, gammas)):
        res = qt.mesolve(H0 + dl * nn, rho0, [0.0, T1], c_ops=c_ops, args={"gam": gam}, options=opts)
        out[k] = _ergotropy_np(res.final_state.ptrace(0).full())
    return out, time.perf_counter() - t


def qbjax_routes(rtol, atol):
    """name -> (compiled function of the (D, Gm) grids, returning the map) for the two qbjax routes."""
    import jax

    from qbjax.models.tavis_cummings import TavisCummingsBattery

    def point(d, g):
        return TavisCummingsBattery(N, d, g, environment="B").final_ergotropy(T1, rtol=rtol, atol=atol)

    vmapped = jax.jit(jax.vmap(point))  # over the flattened map: 225 scalar models
    return {"array": jax.jit(point), "vmap": lambda D, Gm: vmapped(D.ravel(), Gm.ravel()).reshape(D.shape)}


def _load():
    return "/".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def _timed(f, *args):
    t = time.perf_counter()
    out = np.asarray(f(*args).block_until_ready())
    return out, time.perf_counter() - t


def dynamiqs_map(D, Gm, rtol, atol, repeats):
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp

    import qbjax as qb

    dq.set_precision("double")
    jz, jp, _jm = qb.dicke_operators(N)
    a1 = qb.destroy(NC)
    eye_q, eye_c = jnp.eye(N + 1), jnp.eye(NC)
    Jz, Jp, a = jnp.kron(jz, eye_c), jnp.kron(jp, eye_c), jnp.kron(eye_q, a1)
    nn = a.conj().T @ a
    H0 = (Jz + N / 2 * jnp.eye(len(Jz))) + nn + G * (Jp @ a + Jp.conj().T @ a.conj().T)
    rho0 = jnp.zeros_like(H0).at[0, 0].set(1.0)
    d, gam = jnp.ravel(D), jnp.ravel(Gm)

    @jax.jit
    def run(d, gam):
        H = H0[None] + d[:, None, None] * nn[None]
        nth = lambda t: N0 * (1 + jnp.sin(OMEGA * t) ** 2)
        jumps = [dq.modulated(lambda t: jnp.sqrt(gam * (1 + nth(t))), a),
                 dq.modulated(lambda t: jnp.sqrt(gam * nth(t)), a.conj().T),
                 jnp.sqrt(GPHI) * Jz]
        res = dq.mesolve(H, jumps, rho0, jnp.array([0.0, T1]), method=dq.method.Tsit5(rtol=rtol, atol=atol),
                         save_states=False, cartesian_batching=False, progress_meter=False)
        rho = res.final_state.to_jax()
        rb = qb.partial_trace(rho, (N + 1, NC), 0)
        return qb.ergotropy(rb, jnp.diag(jnp.arange(N, -1, -1.0)).astype(rb.dtype))

    t = time.perf_counter()
    run(d, gam).block_until_ready()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        e = run(d, gam).block_until_ready()
        times.append(time.perf_counter() - t)
    return np.asarray(e).reshape(D.shape), min(times), first - min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=15, help="grid side (default 15)")
    ap.add_argument("--sample", type=int, default=0, help="time QuTiP on this many points only (0: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-8)
    ap.add_argument("--no-dynamiqs", action="store_true")
    ap.add_argument("--no-qutip", action="store_true")
    ap.add_argument("--quick", action="store_true", help="5 x 5 smoke run")
    args = ap.parse_args()
    n = 5 if args.quick else args.n

    import jax

    import qbjax  # noqa: F401  (float64)

    dl, gm = grid(n)
    D, Gm = np.meshgrid(dl, gm)  # rows: gamma0, columns: Delta (as the paper's map_data)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {_load()}; jax {jax.__version__} backend {jax.default_backend()}")
    print(f"workload: {n} x {n} map, N = {N}, env B, n_cavity = {NC}, t1 = {T1}, rtol {args.rtol}, atol {args.atol}")

    routes = qbjax_routes(args.rtol, args.atol)
    first = {name: _timed(f, D, Gm)[1] for name, f in routes.items()}  # compile + one run
    idx = np.arange(D.size)
    if args.sample and args.sample < D.size:
        idx = np.linspace(0, D.size - 1, args.sample).round().astype(int)
    runs, maps, qt_runs = {name: [] for name in routes}, {}, []
    for _ in range(args.repeats):  # interleaved rounds: both qbjax routes and QuTiP under the same load
        for name, f in routes.items():
            maps[name], t = _timed(f, D, Gm)
            runs[name].append(t)
        if not args.no_qutip:
            e_qt, t = qutip_map(D.ravel()[idx], Gm.ravel()[idx], args.rtol, args.atol)
            qt_runs.append(t)
    best = {name: min(t) for name, t in runs.items()}
    for name, label in (("array", "array fields"), ("vmap", "jax.vmap over models")):
        print(f"qbjax {label:21s}: run {best[name]:.3f} s (best of {args.repeats}), "
              f"compile {first[name] - best[name]:.1f} s")
    e_qb = maps["array"]
    print(f"max |E_vmap - E_array| = {np.abs(maps['vmap'] - e_qb).max():.2e}")
    if qt_runs:
        t_qt = min(qt_runs)
        t_qt_full = t_qt * D.size / len(idx)
        diff_qt = np.abs(e_qt - e_qb.ravel()[idx]).max()
        print(f"QuTiP   : {t_qt:.3f} s for {len(idx)} points (best of {len(qt_runs)}; "
              f"{1e3 * t_qt / len(idx):.1f} ms per mesolve), full map {t_qt_full:.2f} s"
              f"{' (extrapolated)' if len(idx) < D.size else ''}; max |E_qbjax - E_qutip| = {diff_qt:.2e}")
        for name in routes:
            print(f"ratio QuTiP / qbjax {name:5s} = {t_qt_full / best[name]:.2f}x (target >= 5x); "
                  f"including qbjax's compile: {t_qt_full / first[name]:.2f}x")

    if not args.no_dynamiqs:
        try:
            e_dq, t_dq, c_dq = dynamiqs_map(D, Gm, args.rtol, args.atol, args.repeats)
        except Exception as exc:  # noqa: BLE001
            print(f"dynamiqs: skipped ({type(exc).__name__}: {exc})")
        else:
            print(f"dynamiqs: run {t_dq:.3f} s (best of {args.repeats}), compile {c_dq:.1f} s; "
                  f"max |E_qbjax - E_dynamiqs| = {np.abs(e_dq - e_qb).max():.2e}; "
                  f"ratio dynamiqs / qbjax array = {t_dq / best['array']:.2f}x")
    print(f"max ergotropy on the map {e_qb.max():.4f}; load average at end {_load()}")


if __name__ == "__main__":
    main()
