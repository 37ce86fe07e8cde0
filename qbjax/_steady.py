"""Steady states by a linear solve with the trace constraint (no eigensolver).

For a generator G (n x n) with a trace functional t (t^T G = 0), the steady state x solves

    G x = 0,    t^T x = 1.

Because t^T G = 0, the row i of G with t_i != 0 is a linear combination of the others; replacing it by
t^T and the right-hand side by e_i gives a square, generically non-singular system.  This is one LU
solve: batched (leading dimensions), GPU friendly and differentiable (implicit-function gradients
through ``jnp.linalg.solve``).  A non-unique steady state makes the system singular; the result is
then non-finite and an error is raised (``eqx.error_if`` inside ``jit``).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from ._validate import check_square, is_concrete
from ._superop import trace_vector, unvec


def null_vector(G, t, *, row: int | None = None):
    """Solve G x = 0 with t^T x = 1 for generators G of shape (..., n, n) and t of shape (n,).

    ``row`` is the equation replaced by the constraint (default: the first index where t != 0).
    """
    G = check_square(jnp.asarray(G), "generator")
    t = jnp.asarray(t)
    n = G.shape[-1]
    if t.shape != (n,):
        raise ValueError(f"trace functional must have shape ({n},); got {t.shape}")
    if row is None:
        row = int(np.argmax(np.abs(np.asarray(t)) > 0)) if is_concrete(t) else 0
    dtype = jnp.result_type(G.dtype, t.dtype)
    A = G.astype(dtype).at[..., row, :].set(t.astype(dtype))
    b = jnp.zeros(G.shape[:-1], dtype=dtype).at[..., row].set(1.0)
    lu, piv = jsl.lu_factor(A)
    x = jsl.lu_solve((lu, piv), b[..., None])[..., 0]
    # A non-unique steady state makes A singular; in floating point (e.g. a degenerate generator
    # written in a rotated basis) partial-pivoting LU then shows a pivot at round-off level instead
    # of an exact zero, and the solve returns a finite but arbitrary vector.  Flag pivots below
    # 64 n eps max|A| (unique steady states of physical generators sit many orders above).
    eps = jnp.finfo(jnp.real(jnp.zeros((), dtype)).dtype).eps
    pivots = jnp.abs(jnp.diagonal(lu, axis1=-2, axis2=-1)).min(axis=-1)
    scale = jnp.abs(A).max(axis=(-1, -2))
    singular = pivots <= 64 * n * eps * scale
    return eqx.error_if(
        x,
        jnp.any(singular) | ~jnp.all(jnp.isfinite(x)),
        "steady state: singular system (the generator has no unique steady state)",
    )


def steady_state(L):
    """Steady state (..., d, d) of a Lindblad superoperator L of shape (..., d^2, d^2).

    Returns a Hermitian, unit-trace density matrix (Hermitian part taken to remove round-off).
    """
    L = check_square(jnp.asarray(L), "L")
    n = L.shape[-1]
    d = int(round(n**0.5))
    if d * d != n:
        raise ValueError(f"L must be a (d^2, d^2) superoperator; got shape {L.shape}")
    x = null_vector(L, trace_vector(d, dtype=jnp.result_type(L.dtype, complex)), row=0)
    rho = unvec(x, d)
    return 0.5 * (rho + jnp.conj(jnp.swapaxes(rho, -1, -2)))
