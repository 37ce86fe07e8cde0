"""Superoperators in the row-major vectorisation vec(rho) = rho.reshape(d * d).

With this convention vec(A rho B) = (A kron B^T) vec(rho), so

    spre(A)  = A kron 1        (rho -> A rho)
    spost(B) = 1 kron B^T      (rho -> rho B)

and the Lindblad generator of H and jump operators L_k (rates folded into L_k, units 1/time) is

    liouvillian(H, L) = -i (H kron 1 - 1 kron H^T)
                        + sum_k [L_k kron L_k^* - (1/2) (L_k^dag L_k kron 1) - (1/2) (1 kron (L_k^dag L_k)^T)].

Every function takes leading batch dimensions.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._validate import check_square


def _kron(a, b):
    """Batched Kronecker product of (..., m, n) and (..., p, q) -> (..., m p, n q)."""
    a = jnp.asarray(a)
    b = jnp.asarray(b)
    m, n = a.shape[-2:]
    p, q = b.shape[-2:]
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(out.shape[:-4] + (m * p, n * q))


def _dag(a):
    return jnp.conj(jnp.swapaxes(a, -1, -2))


def vec(rho):
    """Row-major vectorisation (..., d, d) -> (..., d*d)."""
    rho = jnp.asarray(rho)
    return rho.reshape(rho.shape[:-2] + (rho.shape[-1] * rho.shape[-2],))


def unvec(x, d: int | None = None):
    """Inverse of :func:`vec`: (..., d*d) -> (..., d, d)."""
    x = jnp.asarray(x)
    if d is None:
        d = int(round(x.shape[-1] ** 0.5))
    if d * d != x.shape[-1]:
        raise ValueError(f"a vector of length {x.shape[-1]} is not a vectorised {d}x{d} matrix")
    return x.reshape(x.shape[:-1] + (d, d))


def spre(a):
    """Superoperator of rho -> a rho."""
    a = jnp.asarray(a)
    return _kron(a, jnp.eye(a.shape[-1], dtype=a.dtype))


def spost(b):
    """Superoperator of rho -> rho b."""
    b = jnp.asarray(b)
    return _kron(jnp.eye(b.shape[-1], dtype=b.dtype), jnp.swapaxes(b, -1, -2))


def sprepost(a, b):
    """Superoperator of rho -> a rho b."""
    return _kron(jnp.asarray(a), jnp.swapaxes(jnp.asarray(b), -1, -2))


def commutator_superop(H):
    """-i [H, .] as a superoperator."""
    H = jnp.asarray(H)
    return -1j * (spre(H) - spost(H))


def dissipator(L):
    """D[L] rho = L rho L^dag - (1/2){L^dag L, rho}; ``L`` of shape (..., d, d)."""
    L = jnp.asarray(L)
    LdL = _dag(L) @ L
    return sprepost(L, _dag(L)) - 0.5 * spre(LdL) - 0.5 * spost(LdL)


def liouvillian(H, jump_ops=()):
    """Lindblad generator, shape (..., d^2, d^2), row-major vec convention.

    Args:
        H: Hamiltonian (..., d, d), units of energy = 1/time (hbar = 1).
        jump_ops: jump operators with their rates folded in, either a sequence of (..., d, d)
            arrays or one array (..., K, d, d).  Batch dimensions broadcast against ``H``.
    """
    H = check_square(jnp.asarray(H), "H")
    L = commutator_superop(H.astype(jnp.result_type(H.dtype, complex)))
    if isinstance(jump_ops, (list, tuple)):
        if len(jump_ops) == 0:
            return L
        jump_ops = jnp.stack(jnp.broadcast_arrays(*[jnp.asarray(c) for c in jump_ops]), axis=-3)
    jump_ops = jnp.asarray(jump_ops)
    if jump_ops.ndim < 3 or jump_ops.shape[-1] != H.shape[-1] or jump_ops.shape[-2] != H.shape[-1]:
        raise ValueError(
            f"jump_ops must have shape (..., K, {H.shape[-1]}, {H.shape[-1]}); got {jump_ops.shape}"
        )
    return L + jnp.sum(dissipator(jump_ops), axis=-3)


def trace_vector(d: int, dtype=None):
    """The trace functional <<1| = vec(identity) for vectorised (d, d) matrices."""
    return vec(jnp.eye(d, dtype=dtype or jnp.result_type(complex)))
