"""Input validation shared by the core and the models.

Concrete values are checked eagerly and raise ``ValueError`` naming the parameter.  Traced values
(inside ``jit``/``vmap``/``grad``) cannot be inspected in Python, so they go through
``equinox.error_if``, which raises at run time with the same message.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values Python can inspect (not a JAX tracer)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def check(x, ok, message: str):
    """Return ``x``; raise ``ValueError(message)`` where ``ok`` is False.

    ``ok`` is a boolean array (or a callable of ``x`` returning one).  With concrete inputs the error
    is raised immediately; with traced inputs it is raised by ``eqx.error_if`` when the compiled
    computation runs.
    """
    cond = ok(x) if callable(ok) else ok
    if is_concrete(cond):
        if not bool(np.all(np.asarray(cond))):
            raise ValueError(message)
        return x
    return eqx.error_if(x, ~jnp.all(cond), message)


def as_float(x, name: str):
    """``x`` as a floating JAX array (default real dtype); rejects NaN when concrete."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return check(arr, lambda a: ~jnp.isnan(a), f"{name} contains NaN")


def check_square(x, name: str, size: int | None = None):
    """Require ``x.shape[-2:] == (n, n)`` (and ``n == size`` when given)."""
    shape = jnp.shape(x)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be a square matrix (..., n, n); got shape {shape}")
    if size is not None and shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}, {size}); got shape {shape}")
    return x


def check_density_matrix(rho, name: str = "rho", atol: float = 1e-8):
    """Square, Hermitian and unit-trace (to ``atol``); returns ``rho`` as a JAX array."""
    rho = jnp.asarray(rho)
    check_square(rho, name)
    herm = jnp.abs(rho - jnp.conj(jnp.swapaxes(rho, -1, -2))).max(axis=(-1, -2)) <= atol
    rho = check(rho, herm, f"{name} is not Hermitian (|rho - rho^dagger| > {atol})")
    tr = jnp.trace(rho, axis1=-2, axis2=-1)
    return check(rho, jnp.abs(tr - 1) <= atol, f"{name} does not have unit trace (|Tr rho - 1| > {atol})")


def check_hermitian(x, name: str):
    """Require ``x`` Hermitian to sqrt(eps) * max(1, max|x|) (eps of its precision); returns ``x``.

    Eigenvalue routines (``eigvalsh``/``eigh``) read one triangle only, so a non-Hermitian input would
    otherwise give a silent wrong number.
    """
    x = jnp.asarray(x)
    eps = jnp.finfo(jnp.result_type(x.dtype, float)).eps
    scale = jnp.maximum(1.0, jnp.abs(x).max(axis=(-1, -2)))
    dev = jnp.abs(x - jnp.conj(jnp.swapaxes(x, -1, -2))).max(axis=(-1, -2))
    return check(x, dev <= eps**0.5 * scale, f"{name} is not Hermitian")
