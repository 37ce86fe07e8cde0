"""Thermal occupations with a well-defined zero-temperature limit."""

from __future__ import annotations

import jax.numpy as jnp

from ._validate import checks


def bose_einstein(omega, T):
    """Bose-Einstein occupation n(omega, T) = 1 / (exp(omega / T) - 1) for omega > 0.

    T = 0 (and omega / T > 700) gives n = 0 exactly, with finite (zero) gradients; large omega / T
    never overflows (written as exp(-x) / (1 - exp(-x))).  omega and T broadcast.  Raises ``ValueError`` naming the
    argument for omega <= 0 or T < 0, NaN or inf (``eqx.error_if`` when traced).
    """
    omega = jnp.asarray(omega)
    T = jnp.asarray(T)
    omega = checks(omega, [(~jnp.any(jnp.isnan(omega)), "omega is NaN (bose_einstein)"),
                           (lambda: jnp.all(omega > 0), "omega must be > 0 (bose_einstein)"),
                           (lambda: jnp.all(omega < jnp.inf), "omega must be finite (bose_einstein)")])
    T = checks(T, [(~jnp.any(jnp.isnan(T)), "T is NaN (bose_einstein)"),
                   (lambda: jnp.all(T >= 0), "T must be >= 0 (bose_einstein)"),
                   (lambda: jnp.all(T < jnp.inf), "T must be finite (bose_einstein)")])
    # omega / T > 700 (including T = 0): n < 1e-304 is returned as 0 with zero gradient; masking T
    # there also keeps d(omega/T)/dT = -omega/T^2 from overflowing to inf (0 * inf = NaN gradients).
    regular = 700.0 * T > omega
    safe_T = jnp.where(regular, T, 1.0)
    safe_omega = jnp.where(regular, omega, 1.0)
    x = safe_omega / safe_T
    n = jnp.exp(-x) / (-jnp.expm1(-x))
    return jnp.where(regular, n, 0.0)
