"""Thermal occupations with a well-defined zero-temperature limit."""

from __future__ import annotations

import jax.numpy as jnp


def bose_einstein(omega, T):
    """Bose-Einstein occupation n(omega, T) = 1 / (exp(omega / T) - 1) for omega > 0.

    T = 0 gives n = 0 exactly, with finite (zero) gradients; large omega / T never overflows
    (written as exp(-x) / (1 - exp(-x))).  omega and T broadcast.
    """
    omega = jnp.asarray(omega)
    T = jnp.asarray(T)
    positive = T > 0
    safe_T = jnp.where(positive, T, 1.0)
    x = omega / safe_T
    n = jnp.exp(-x) / (-jnp.expm1(-x))
    return jnp.where(positive, n, 0.0)
