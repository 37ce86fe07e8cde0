"""State functionals: purity, trace distance, concurrence, partial trace, basis states.

All functions take leading batch dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from ._validate import check_square


def purity(rho):
    """Tr(rho^2), real, in [1/d, 1]."""
    rho = check_square(jnp.asarray(rho), "rho")
    return jnp.real(jnp.einsum("...ij,...ji->...", rho, rho))


def trace_distance(rho1, rho2):
    """D = (1/2) ||rho1 - rho2||_1 = (1/2) sum_k |eig_k(rho1 - rho2)|, in [0, 1]."""
    rho1 = check_square(jnp.asarray(rho1), "rho1")
    rho2 = check_square(jnp.asarray(rho2), "rho2")
    if rho1.shape[-1] != rho2.shape[-1]:
        raise ValueError(f"rho1 and rho2 must have the same dimension; got {rho1.shape} and {rho2.shape}")
    return 0.5 * jnp.sum(jnp.abs(jnp.linalg.eigvalsh(rho1 - rho2)), axis=-1)


_SY_SY = jnp.array([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]])


def concurrence(rho):
    """Wootters concurrence of a two-qubit state, C = max(0, l1 - l2 - l3 - l4).

    l_k are the square roots, in decreasing order, of the eigenvalues of rho (sy x sy) rho* (sy x sy).
    They are computed as the singular values of tau = W^T (sy x sy) W with rho = W W^dagger, which are
    real and non-negative by construction (no non-Hermitian eigensolver).  Gradients are finite where
    rho has a non-degenerate spectrum; at degenerate rho (a pure state, for instance) the eigenvector
    derivative of ``eigh`` is undefined and the gradient is not guaranteed.
    """
    rho = check_square(jnp.asarray(rho), "rho", size=4)
    w, v = jnp.linalg.eigh(rho)
    W = v * jnp.sqrt(jnp.clip(w, 0.0, None))[..., None, :]
    yy = _SY_SY.astype(W.dtype)
    tau = jnp.einsum("...ki,kl,...lj->...ij", W, yy, W)
    s = jnp.linalg.svd(tau, compute_uv=False)  # descending
    return jnp.maximum(0.0, s[..., 0] - s[..., 1] - s[..., 2] - s[..., 3])


def partial_trace(rho, dims: Sequence[int], keep):
    """Reduced state on the subsystems ``keep`` (an index or a sequence of indices, in any order).

    ``rho`` has shape ``(..., D, D)`` with ``D = prod(dims)`` and subsystem order as in ``dims``
    (kron order: the first subsystem is the most significant).  The kept subsystems appear in
    increasing index order.
    """
    rho = check_square(jnp.asarray(rho), "rho")
    dims = tuple(int(d) for d in dims)
    keep = sorted({int(keep)} if jnp.ndim(keep) == 0 else {int(k) for k in keep})
    n = len(dims)
    D = 1
    for d in dims:
        D *= d
    if rho.shape[-1] != D:
        raise ValueError(f"rho dimension {rho.shape[-1]} does not match prod(dims) = {D}")
    if not keep or keep[0] < 0 or keep[-1] >= n:
        raise ValueError(f"keep must name subsystems in 0..{n - 1}; got {keep}")
    batch = rho.shape[:-2]
    t = rho.reshape(batch + dims + dims)
    letters = "abcdefghijklmnopqrstuvwxyz"
    row = [letters[i] for i in range(n)]
    col = [letters[n + i] if i in keep else letters[i] for i in range(n)]
    out = [letters[i] for i in keep] + [letters[n + i] for i in keep]
    spec = "..." + "".join(row) + "".join(col) + "->..." + "".join(out)
    dk = 1
    for i in keep:
        dk *= dims[i]
    return jnp.einsum(spec, t).reshape(batch + (dk, dk))


def basis(d: int, k: int, dtype=None):
    """|k> in a d-dimensional space, shape (d,)."""
    return jnp.zeros(d, dtype=dtype or jnp.result_type(complex)).at[k].set(1.0)


def ket2dm(psi):
    """|psi><psi| for kets of shape (..., d)."""
    psi = jnp.asarray(psi)
    return psi[..., :, None] * jnp.conj(psi)[..., None, :]


def tensor(*ops):
    """Kronecker product of operators (or kets), first argument most significant."""
    out = jnp.asarray(ops[0])
    for op in ops[1:]:
        out = jnp.kron(out, jnp.asarray(op))
    return out
