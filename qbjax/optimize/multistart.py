"""Gradient optimisers shared by qbjax's design problems, compiled once per objective structure.

* :func:`lbfgs_minimise`: Optax L-BFGS with its zoom line search in one ``lax.while_loop``, stopping at
  ``max_steps`` or when |grad| < ``gtol`` (the micromaser protocol optimisation).
* :func:`advance`: the multistart loop, many starts advanced together by one ``vmap``-ed optimiser
  loop, each start keeping the best point it visited (the four-level inverse design and
  :func:`qbjax.optimize_protocol`);
* :func:`adam_ascent`: :func:`advance` with Adam (cosine-decayed learning rate), keeping the best
  *feasible* point, in compiled segments so that progress can be shown between them (the four-level
  inverse design).

Objectives are Equinox modules (their array fields are traced, their static fields select the
computation), so ``eqx.filter_jit`` compiles each optimiser once per objective structure and reuses
it for new parameter values; no hand-written compile cache.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["adam_ascent", "advance", "evaluate", "lbfgs_minimise"]


@eqx.filter_jit
def lbfgs_minimise(objective, u0, lam, max_steps: int, gtol: float):
    """Minimise ``objective(u, lam)`` from ``u0``; returns (u, number of steps, final |grad|)."""
    opt = optax.lbfgs()
    fn = lambda u: objective(u, lam)  # noqa: E731
    vg = optax.value_and_grad_from_state(fn)

    def cond(carry):
        _, _, k, gnorm = carry
        return (k < max_steps) & (gnorm > gtol)

    def body(carry):
        u, state, k, _ = carry
        value, grad = vg(u, state=state)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=fn)
        return optax.apply_updates(u, updates), state, k + 1, optax.tree.norm(grad)

    u, _, k, gnorm = jax.lax.while_loop(cond, body, (u0, opt.init(u0), 0, jnp.inf))
    return u, k, gnorm


@eqx.filter_jit
def evaluate(objective, z):
    """``objective`` over a batch of starts z (S, ...): its (F, (f, feasible)), vmapped."""
    return jax.vmap(objective)(z)


def _adam(lr: float, steps: int):
    return optax.adam(optax.cosine_decay_schedule(lr, max(steps, 1), alpha=1e-2))


@eqx.filter_jit
def _init(z, lr: float, steps: int):
    return jax.vmap(_adam(lr, steps).init)(z)


def _where(cond, a, b):
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


def _finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def advance(loss_fn, optimizer, carry, length: int, total: int | None = None, best_needs_finite_step: bool = False):
    """``length`` optimiser steps of every start, all starts advanced together by one ``vmap``.

    The multistart loop of qbjax's design problems (the four-level inverse design, charging-protocol
    optimisation).  ``loss_fn(z) -> (loss, (score, keep, record))``: the gradient of ``loss`` drives
    the step; ``score`` (lower is better) decides whether (z, keep) becomes the start's best; ``record``
    is returned for every step.  ``carry = (z, optimizer state, step counter k, best score,
    (best z, best keep))``, each with a leading start axis.  A step whose loss or gradient is not
    finite, or with k >= ``total`` (a last segment longer than the steps left), leaves z and the
    optimiser state where they are; ``best_needs_finite_step``: such a step's z cannot become the best.

    Returns (carry, (records, best scores)), the last two with shape (starts, length, ...).
    """
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    def one(carry):
        def step(carry, _):
            z, state, k, best_s, best = carry
            (loss, (score, keep, record)), g = value_and_grad(z)
            ok = jnp.isfinite(loss) & _finite(g)
            better = (score < best_s) & ok if best_needs_finite_step else score < best_s
            best_s = jnp.where(better, score, best_s)
            best = _where(better, (z, keep), best)
            updates, new_state = optimizer.update(g, state, z)
            active = ok if total is None else ok & (k < total)
            z = _where(active, optax.apply_updates(z, updates), z)
            state = _where(active, new_state, state)
            return (z, state, k + 1, best_s, best), (record, best_s)

        return jax.lax.scan(step, carry, None, length=length)

    return jax.vmap(one)(carry)


@eqx.filter_jit
def _segment(objective, carry, lr: float, steps: int, segment: int):
    """``segment`` Adam steps of every start (:func:`advance`), tracking each start's best feasible f."""

    def loss_fn(z):
        F, (f, feasible) = objective(z)
        return -F, (jnp.where(feasible, -f, jnp.inf), (), jnp.where(feasible, f, jnp.nan))

    z, state, k, best_f, best_z = carry
    carry = (z, state, k, -best_f, (best_z, ()))
    (z, state, k, best_s, (best_z, _)), (f_now, best_steps) = advance(loss_fn, _adam(lr, steps), carry, segment, steps)
    return (z, state, k, -best_s, best_z), (f_now, -best_steps)


def adam_ascent(objective, z0, *, steps: int, lr: float, segment: int = 50, progress=None):
    """Maximise ``objective`` from every start in ``z0`` (S, ...) by ``steps`` Adam steps.

    ``objective(z) -> (F, (f, feasible))``: F the (penalised) value climbed, f the value reported and
    ``feasible`` whether z satisfies the problem's constraints; only feasible points are kept as a
    start's best.  ``progress(step, best_f)`` is called after every compiled segment.

    Returns a dict: ``best_f`` (S,) and ``best_z`` (S, ...) (the last iterate included), ``history``
    (steps, S) of the running best and ``current`` (steps, S) of the feasible value at each step, and
    ``wall_s``.
    """
    t0 = time.perf_counter()
    segment = min(int(segment), int(steps))
    z = jnp.asarray(z0)
    f0, feas0 = (np.asarray(a) for a in evaluate(objective, z)[1])
    best_f = jnp.where(jnp.asarray(feas0), jnp.asarray(f0), -jnp.inf)
    carry = (z, _init(z, lr, steps), jnp.zeros(z.shape[0], dtype=jnp.int32), best_f, z)
    history, current = [], []
    for s in range(-(-int(steps) // segment)):
        carry, (f_now, f_best) = _segment(objective, carry, lr, steps, segment)
        history.append(np.asarray(f_best).T)
        current.append(np.asarray(f_now).T)
        if progress:
            progress(min((s + 1) * segment, steps), np.asarray(carry[3]))
    z_end, best_f, best_z = carry[0], np.array(carry[3]), np.array(carry[4])
    # the point after the last update was never evaluated inside the loop
    f_end, feas_end = (np.asarray(a) for a in evaluate(objective, z_end)[1])
    better = feas_end & (f_end > best_f)
    best_f = np.where(better, f_end, best_f)
    best_z = np.where(better.reshape((-1,) + (1,) * (best_z.ndim - 1)), np.asarray(z_end), best_z)
    return {
        "best_f": best_f,
        "best_z": best_z,
        "init_f": f0,
        "init_feasible": feas0,
        "history": np.concatenate(history, axis=0)[:steps],
        "current": np.concatenate(current, axis=0)[:steps],
        "wall_s": time.perf_counter() - t0,
    }
