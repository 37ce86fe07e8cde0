"""Gradient optimisers shared by qbjax's design problems, compiled once per objective structure.

* :func:`lbfgs_minimise`: Optax L-BFGS with its zoom line search in one ``lax.while_loop``, stopping at
  ``max_steps`` or when |grad| < ``gtol`` (the micromaser protocol optimisation).
* :func:`adam_ascent`: many starts advanced together by one ``vmap``-ed Adam loop (cosine-decayed
  learning rate), each start keeping the best *feasible* point it visited, in compiled segments so
  that progress can be shown between them (the four-level inverse design).

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

__all__ = ["adam_ascent", "evaluate", "lbfgs_minimise"]


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


@eqx.filter_jit
def _segment(objective, carry, lr: float, steps: int, segment: int):
    """``segment`` Adam steps of every start (vmapped), tracking each start's best feasible f."""
    opt = _adam(lr, steps)
    value_and_grad = jax.value_and_grad(lambda z: _negate(objective(z)), has_aux=True)

    def one(carry):
        def step(carry, _):
            z, state, k, best_f, best_z = carry
            (negF, (f, feasible)), g = value_and_grad(z)
            better = feasible & (f > best_f)
            best_f = jnp.where(better, f, best_f)
            best_z = jnp.where(better, z, best_z)
            updates, new_state = opt.update(g, state, z)
            active = jnp.isfinite(negF) & jnp.all(jnp.isfinite(g)) & (k < steps)
            z = jnp.where(active, z + updates, z)
            state = jax.tree.map(lambda a, b: jnp.where(active, a, b), new_state, state)
            return (z, state, k + 1, best_f, best_z), (jnp.where(feasible, f, jnp.nan), best_f)

        return jax.lax.scan(step, carry, None, length=segment)

    return jax.vmap(one)(carry)


def _negate(out):
    """(F, aux) -> (-F, aux): the ascent minimises -F."""
    F, aux = out
    return -F, aux


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
