"""Full-size time-dependent detuning study of the Tavis-Cummings battery (paper 003), the reduced
version of which runs in ``notebooks/protocol_optimisation.ipynb``.

For N qubits, environments A and B, the detuning Delta(t) is piecewise constant (``--segments``
segments) in [0, 2 Delta*] (Delta* = g sqrt(N / (2 gamma0)), Eq. 7) on [0, t1] and maximises the
physical ergotropy of the reduced battery state at t1 (``qb.optimize_protocol``, ``optax.rprop``,
exact reverse-mode gradients).  Compared with the best constant detuning of a fine scan of
[0, 2 Delta*] and with Delta* itself.  n_cavity = N + 2 (exact for A, whose excitation number never
exceeds N; for B the truncation is checked against n_cavity = 6 at the static optimum).

    PYTHONPATH=. python notebooks/reports/protocol-optimisation/run.py          # writes README.md here
    PYTHONPATH=. python notebooks/reports/protocol-optimisation/run.py --Ns 2 --steps 20   # smaller
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax

import qbjax as qb
from qbjax.control import PiecewiseConstant

TC = qb.models.TavisCummingsBattery
ENV = {"A": {"lam": 0.05, "n0": 0.0, "gamma_phi": 0.0}, "B": {"lam": 0.0, "n0": 0.1, "gamma_phi": 0.02}}
HERE = Path(__file__).resolve().parent


def study(N, t1, segments, steps, n_scan=161, rtol=1e-6, atol=1e-8):
    """Rows (env, Delta*, E(Delta*), best static Delta, E static, E static at n_cavity 6, E time-dependent,
    the optimised segment values, wall s) for environments A and B (one compiled loop for both)."""
    nc = N + 2

    def battery(v):  # environment "general": A and B differ by frozen controls, so one compilation
        return TC(N, detuning=v["Delta"], n_cavity=nc, environment="general", lam=v["lam"], n0=v["n0"],
                  gamma_phi=v["gamma_phi"])

    d_star = float(TC(N).optimal_detuning())
    hi = 2 * d_star
    scan = np.linspace(0.0, hi, n_scan)
    frozen = {k: "frozen" for k in ENV["A"]}
    opt = optax.multi_transform({"free": optax.rprop(0.5), "frozen": optax.set_to_zero()},
                                {"Delta": "free", **frozen})
    rows = []
    for env, p in ENV.items():
        dets = jnp.asarray(np.append(scan, d_star))
        e = np.asarray(TC(N, detuning=dets, n_cavity=nc, environment="general", **p).final_ergotropy(t1,
                                                                                                     rtol=rtol,
                                                                                                     atol=atol))
        e_star, e = float(e[-1]), e[:-1]
        i = int(np.argmax(e))
        e6 = float(TC(N, detuning=scan[i], n_cavity=max(6, nc), environment="general", **p).final_ergotropy(t1))
        start = np.clip(scan[i], 0.01 * hi, 0.99 * hi)  # inside the box (a start on a bound has z -> inf)
        controls = {"Delta": PiecewiseConstant(start, t1, n=segments, bounds=(0.0, hi))}
        controls.update({k: PiecewiseConstant(v, t1, n=1) for k, v in p.items()})
        t0 = time.perf_counter()
        r = qb.optimize_protocol(battery, controls, "ergotropy", t1, optimizer=opt, steps=steps, rtol=rtol, atol=atol)
        rows.append((env, d_star, e_star, float(scan[i]), float(e[i]), e6, r.objective,
                     np.asarray(r.controls["Delta"].values()), time.perf_counter() - t0))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--Ns", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--t1", type=float, default=20.0)
    ap.add_argument("--segments", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--out", default=str(HERE / "README.md"))
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    lines = ["# Time-dependent detuning of the Tavis-Cummings battery: full-size run", "",
             f"Produced by `PYTHONPATH=. python notebooks/reports/protocol-optimisation/run.py --Ns "
             f"{' '.join(map(str, args.Ns))} --t1 {args.t1:g} --segments {args.segments} --steps {args.steps}` "
             f"on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), load average "
             f"{load0[0]:.2f} at start.", "",
             f"Delta(t) piecewise constant, {args.segments} segments in [0, 2 Delta*], maximising the physical "
             f"ergotropy at t1 = {args.t1:g} (units of omega_b; `qb.optimize_protocol`, `optax.rprop(0.5)`, "
             f"{args.steps} steps, started at the best static detuning moved inside the box). Static: "
             "the best constant detuning of a 161-point scan of [0, 2 Delta*]. n_cavity = N + 2 (exact for A; "
             "for B the column 'static, n_cavity 6' checks the truncation).", "",
             "| N | env | Delta* | E(Delta*) | best static Delta | E static | E static, n_cavity 6 | "
             "E time-dependent | gain over static | gain over Delta* | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    profiles, gains = [], []
    for N in args.Ns:
        for env, ds, es, dbest, ebest, e6, etd, vals, wall in study(N, args.t1, args.segments, args.steps):
            lines.append(f"| {N} | {env} | {ds:.4f} | {es:.4f} | {dbest:.4f} | {ebest:.4f} | {e6:.4f} | {etd:.4f} | "
                         f"{etd - ebest:+.4f} | {etd - es:+.4f} | {wall:.0f} |")
            profiles.append(f"- N = {N}, env {env}: Delta(t) / Delta* = {np.array2string(vals / ds, precision=2)}")
            gains.append((N, env, etd - ebest, (etd - ebest) / ebest, (ebest - es) / (etd - es)))
            print(lines[-1], flush=True)
    load1 = os.getloadavg()
    g = np.array([x[2] for x in gains])
    rel = np.array([x[3] for x in gains])
    share = np.array([x[4] for x in gains])
    nothing = [f"N = {n}, env {e}" for n, e, d, _, _ in gains if d < 1e-3]
    lines += ["", f"Over the best constant detuning in the same bounds, the time-dependent detuning gains "
              f"{g.min():.4f} to {g.max():.4f} ({100 * rel.min():.1f}% to {100 * rel.max():.1f}%) of ergotropy at "
              f"t1; of its gain over the paper's Delta*, {100 * share.min():.0f}% to {100 * share.max():.0f}% is "
              "already that of the best constant detuning. "
              + ("Time dependence gains nothing (less than 1e-3) for " + ", ".join(nothing) + "." if nothing else
                 "In no case is the gain over the best constant detuning below 1e-3: time dependence gains a "
                 "little everywhere, the choice of the constant detuning most.")]
    lines += ["", "Optimised profiles (segment values over Delta*):", "", *profiles, "",
              f"Load average at end {load1[0]:.2f} (1 min), {load1[1]:.2f} (5 min)."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
