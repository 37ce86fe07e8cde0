"""Array helpers shared by the models' structured (operator-form) numerics."""

from __future__ import annotations

import jax.numpy as jnp


def shift(x, k: int, axes=(0,)):
    """``z[..., i, ...] = x[..., i + k, ...]`` on every axis of ``axes`` at once, zero outside.

    ``k`` is +1 or -1.  A slice and a zero pad (no gather), so it vectorises like an elementwise
    operation; the building block of ladder operators (a, J_+, ...) applied in operator form.
    """
    x = jnp.asarray(x)
    sl = [slice(None)] * x.ndim
    pad = [(0, 0)] * x.ndim
    for ax in axes:
        ax = ax % x.ndim
        if k > 0:
            sl[ax], pad[ax] = slice(k, None), (0, k)
        else:
            sl[ax], pad[ax] = slice(None, k), (-k, 0)
    return jnp.pad(x[tuple(sl)], pad)
