"""Optax optimisation of micromaser charging protocols (paper 002, Eq. (11)).

A protocol is B batches (c_k, q_k) of equal size n/B.  The box c, q in [0, 1] is handled by the
reparametrisation c = sigmoid(u), q = sigmoid(v) (:class:`qbjax.optimize.box.Box`; u, v
unconstrained), so every iterate is feasible and the exact reverse-mode gradient of Eq. (11)
(``Micromaser.loss``) is chained through the sigmoid.  The optimiser is Optax's L-BFGS with its zoom
line search (:func:`qbjax.optimize.multistart.lbfgs_minimise`), run inside one compiled
``lax.while_loop`` per start; iteration stops at ``max_steps`` or when |grad_u| < ``gtol``.
Multi-start: seeded uniform random points in [0.02, 0.98]^{2B} plus any user-given starts (the
paper's optimum, for example); every start is reported and the best is returned.  Batches can be
held fixed (e.g. the paper's improved strategy fixes batch 1 at (c, q) = (0, 0)).

The command line is ``qbjax optimize micromaser`` (:mod:`qbjax.optimize.cli`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._runs import pyplot
from .defaults import G_PAPER
from ..models.micromaser import Micromaser
from .box import Box
from .multistart import lbfgs_minimise

__all__ = ["G_PAPER", "MicromaserLoss", "optimize_micromaser", "plot_protocol"]

_UNIT = Box(0.0, 1.0)


class MicromaserLoss(eqx.Module):
    """Eq. (11) as a function of unconstrained u (B, 2) and lam: (c_k, q_k) = sigmoid(u_k), with the
    batches in ``mask`` held at ``values``."""

    model: Micromaser
    n_collisions: int | tuple = eqx.field(static=True)
    tail: float = eqx.field(static=True)
    mask: jax.Array
    values: jax.Array

    def to_box(self, u):
        """u (B, 2) -> (c_k, q_k) (B, 2) in [0, 1]^2."""
        return jnp.where(self.mask, self.values, _UNIT(u))

    def __call__(self, u, lam):
        p = self.to_box(u)
        return self.model.loss(p[:, 0], p[:, 1], self.n_collisions, lam, self.tail)


def make_objective(model, n_collisions, tail, batches, fixed=None) -> MicromaserLoss:
    """The :class:`MicromaserLoss` of ``batches`` batches; ``fixed``: {batch index: (c, q)} held there."""
    mask = np.zeros((batches, 2), bool)
    vals = np.zeros((batches, 2))
    for k, (c, q) in dict(fixed or {}).items():
        mask[k] = True
        vals[k] = (c, q)
    return MicromaserLoss(model, n_collisions, float(tail), jnp.asarray(mask), jnp.asarray(vals))


def optimize_micromaser(
    lam=10.0,
    batches=1,
    n_collisions=1000,
    n_levels=120,
    g=G_PAPER,
    tail=None,
    seed=0,
    starts=3,
    init=None,
    fixed=None,
    max_steps=60,
    gtol=1e-7,
    progress=print,
):
    """Multi-start L-BFGS of Eq. (11) over B batch pairs (c_k, q_k) in [0, 1]^2.

    tail defaults to 0.2 for one batch and 0.1 for several (the paper's choices).  ``init``: extra
    starts, each a (B, 2) array of (c, q).  Returns a dict with the keys of ``result.json`` (c, q as per-batch
    lists, loss, W_final, purity_final, top_level_population, wall_s, n_steps) plus ``starts`` (one
    record per start) and the settings.
    """
    t0 = time.perf_counter()
    if not isinstance(n_collisions, int):  # explicit batch sizes
        n_collisions = tuple(int(k) for k in n_collisions)
        batches = len(n_collisions)
    n_total = n_collisions if isinstance(n_collisions, int) else sum(n_collisions)
    tail = (0.2 if batches == 1 else 0.1) if tail is None else tail
    model = Micromaser(g, n_levels=n_levels, on_truncation="ignore")
    objective = make_objective(model, n_collisions, tail, batches, fixed)  # compiled once per structure
    lam_arr = jnp.asarray(float(lam))
    rng = np.random.default_rng(seed)
    points = [np.asarray(p, dtype=float).reshape(batches, 2) for p in (init or [])]
    points += list(rng.uniform(0.02, 0.98, size=(starts, batches, 2)))
    records = []
    for i, p0 in enumerate(points):
        ts = time.perf_counter()
        u, k, gnorm = lbfgs_minimise(objective, jnp.asarray(_UNIT.inverse(p0, clip=1e-6)), lam_arr, max_steps, gtol)
        p = np.asarray(objective.to_box(u))
        value = float(objective(u, lam_arr))
        rec = {
            "start": i,
            "kind": "given" if i < len(points) - starts else "random",
            "init_c": p0[:, 0].round(4).tolist(),
            "init_q": p0[:, 1].round(4).tolist(),
            "init_loss": float(objective(jnp.asarray(_UNIT.inverse(p0, clip=1e-6)), lam_arr)),
            "c": p[:, 0].tolist(),
            "q": p[:, 1].tolist(),
            "loss": value,
            "n_steps": int(k),
            "grad_norm": float(gnorm),
            "wall_s": time.perf_counter() - ts,
        }
        records.append(rec)
        if progress:
            cq = ", ".join(f"({c:.3f}, {q:.3f})" for c, q in zip(rec["c"], rec["q"]))
            progress(
                f"[optimize] start {i + 1}/{len(points)} ({rec['kind']}): loss {rec['init_loss']:.6f} -> "
                f"{value:.6f} at {cq if batches <= 4 else f'{batches} batches'}; {rec['n_steps']} steps, "
                f"{rec['wall_s']:.1f} s"
            )
    best = min(records, key=lambda r: r["loss"])
    c, q = np.array(best["c"]), np.array(best["q"])
    terms = model.loss_terms(c, q, n_collisions, lam, tail)
    rho, _ = model.charge(c, q, n_collisions)
    return {
        "c": best["c"],
        "q": best["q"],
        "loss": best["loss"],
        "W_final": float(terms["W"]),
        "purity_final": float(model.purity(rho)),
        "top_level_population": float(terms["top_population"]),
        "penalty": float(terms["penalty"]),
        "wall_s": time.perf_counter() - t0,
        "n_steps": int(sum(r["n_steps"] for r in records)),
        "best_start": best["start"],
        "starts": records,
        "settings": {
            "lam": lam, "batches": batches, "n_collisions": n_collisions, "n_levels": n_levels, "g": g,
            "tail": tail, "window": int(math.floor(tail * n_total + 1e-9)), "seed": seed,
            "optimizer": "optax.lbfgs (zoom line search), sigmoid box reparametrisation",
            "max_steps": max_steps, "gtol": gtol, "fixed": {str(k): v for k, v in (fixed or {}).items()},
        },
    }


def plot_protocol(result, model, out_dir, n_show=None):
    """Figures for an optimised protocol: the (c_k, q_k) schedule and W, purity, energy vs collisions
    (checked and saved by :func:`qbjax._figures.save_figure`)."""
    from .._figures import save_figure

    plt = pyplot()
    s = result["settings"]
    B = len(result["c"])
    sizes = [s["n_collisions"] // B] * B if isinstance(s["n_collisions"], int) else list(s["n_collisions"])
    n = sum(sizes)
    n_show = n_show or n
    c = np.repeat(result["c"], sizes)
    q = np.repeat(result["q"], sizes)
    c = np.concatenate([c, np.full(n_show - n, c[-1])]) if n_show > n else c
    q = np.concatenate([q, np.full(n_show - n, q[-1])]) if n_show > n else q
    ks = np.unique(np.concatenate([[0], np.geomspace(1, n_show, 60).astype(int), [n]]))
    states, E = model.trajectory(c, q, n_show, ks)
    W = np.asarray(model.ergotropy(states))
    P = np.asarray(model.purity(states))
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    edges = np.concatenate([[0], np.cumsum(sizes)])
    ax[0].stairs(result["c"], edges, label="c", color="tab:blue")
    ax[0].stairs(result["q"], edges, label="q", color="tab:red")
    ax[0].set_xlabel("collision k (count)")
    ax[0].set_ylabel("qubit parameters c, q (dimensionless)")
    ax[0].set_title(f"(a) protocol, {B} batch(es)")
    ax[0].legend()
    ax[1].semilogx(ks[1:], W[1:], "o-", ms=3, label="ergotropy W")
    ax[1].semilogx(np.arange(1, n_show + 1), np.asarray(E)[1:], lw=0.8, label="energy E")
    ax[1].axvline(n, color="k", lw=0.5, ls=":", label=f"end of protocol (k = {n})")
    ax[1].set_xlabel("collisions k (count)")
    ax[1].set_ylabel("energy E, ergotropy W (units of hbar omega)")
    ax[1].set_title("(b) energy and ergotropy")
    ax[1].legend(fontsize=8)
    ax[2].semilogx(ks[1:], P[1:], "o-", ms=3)
    ax[2].axvline(n, color="k", lw=0.5, ls=":")
    ax[2].set_xlabel("collisions k (count)")
    ax[2].set_ylabel("purity Tr(rho^2) (dimensionless)")
    ax[2].set_title("(c) purity")
    fig.suptitle(f"lam = {s['lam']}, {B} batch(es), loss {result['loss']:.5f}")
    path = Path(out_dir) / "protocol.png"
    save_figure(fig, path)
    return path
