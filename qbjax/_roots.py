"""Scalar root finding and maximisation in pure JAX (jit/vmap-able, float64)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

_GOLDEN = 0.5 * (3.0 - 5.0**0.5)


def bisect(f: Callable, lo, hi, *, iterations: int = 200):
    """Root of f in [lo, hi] by bisection (f(lo) and f(hi) of opposite signs).

    200 halvings reach the float64 resolution of any bracket; ``lo``/``hi`` may be batched with
    ``vmap``.  Returns NaN when the bracket does not change sign.
    """
    lo = jnp.asarray(lo, dtype=jnp.result_type(float))
    hi = jnp.asarray(hi, dtype=lo.dtype)
    flo = f(lo)
    valid = jnp.sign(flo) * jnp.sign(f(hi)) <= 0

    def body(_, state):
        a, b, fa = state
        mid = 0.5 * (a + b)
        fm = f(mid)
        same = jnp.sign(fm) == jnp.sign(fa)
        return jnp.where(same, mid, a), jnp.where(same, b, mid), jnp.where(same, fm, fa)

    a, b, _ = jax.lax.fori_loop(0, iterations, body, (lo, hi, flo))
    return jnp.where(valid, 0.5 * (a + b), jnp.nan)


def golden_max(f: Callable, lo, hi, *, iterations: int = 100):
    """Maximiser of a unimodal f on [lo, hi] by golden-section search; returns (x*, f(x*))."""
    lo = jnp.asarray(lo, dtype=jnp.result_type(float))
    hi = jnp.asarray(hi, dtype=lo.dtype)

    def body(_, state):
        a, b = state
        c = a + _GOLDEN * (b - a)
        d = b - _GOLDEN * (b - a)
        left = f(c) >= f(d)
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, iterations, body, (lo, hi))
    x = 0.5 * (a + b)
    return x, f(x)


def grid_argmax(f: Callable, lo, hi, *, n_grid: int = 2001, iterations: int = 80, values=None):
    """Global maximiser of f on [lo, hi]: the best point of a uniform grid, refined by golden section
    on the two neighbouring grid cells.  The first maximum wins ties.  Returns (x*, f(x*)).

    ``values`` may hold f on ``jnp.linspace(lo, hi, n_grid)`` already (when the caller can compute the
    grid more cheaply than point by point); otherwise f is vmapped over the grid.
    """
    grid = jnp.linspace(lo, hi, n_grid)
    if values is None:
        values = jax.vmap(f)(grid)
    k = jnp.argmax(values)
    step = (hi - lo) / (n_grid - 1)
    a = jnp.maximum(grid[k] - step, lo)
    b = jnp.minimum(grid[k] + step, hi)
    return golden_max(f, a, b, iterations=iterations)


def grid_argmax_stacked(f: Callable, lo, hi, values, *, iterations: int = 80):
    """:func:`grid_argmax` of K functions at once, with ONE call of ``f`` per golden-section step.

    ``f`` maps times (K, m) to (K, m): row k is the k-th function at its own m times; ``values``
    (K, n_grid) holds the functions on ``jnp.linspace(lo, hi, n_grid)``.  Returns (x* (K,), f(x*) (K,)),
    the numbers of K :func:`grid_argmax` calls with precomputed values.  One call per step lets an
    ``f`` built on a batched LAPACK routine (``expm``, say) keep every such call on a single dependency
    chain: with jaxlib 0.10.2 on CPU, two batched LAPACK calls ready at the same time (the two trial
    points of a step, or K independent searches) can deadlock XLA's intra-op pool under ``vmap``.
    """
    values = jnp.asarray(values)
    n_grid = values.shape[-1]
    grid = jnp.linspace(lo, hi, n_grid)
    k = jnp.argmax(values, axis=-1)
    step = (hi - lo) / (n_grid - 1)
    a = jnp.maximum(grid[k] - step, lo)
    b = jnp.minimum(grid[k] + step, hi)

    def body(_, state):
        a, b = state
        c = a + _GOLDEN * (b - a)
        d = b - _GOLDEN * (b - a)
        fcd = f(jnp.stack([c, d], axis=-1))
        left = fcd[:, 0] >= fcd[:, 1]
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, iterations, body, (a, b))
    x = 0.5 * (a + b)
    return x, f(x[:, None])[:, 0]
