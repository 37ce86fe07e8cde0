"""State functionals: purity, trace distance, concurrence, partial trace, basis states.

All functions take leading batch dimensions.  States are checked to be density matrices (finite,
Hermitian, unit trace, positive to 1e-6 in float64; ``ValueError`` naming the argument, or
``eqx.error_if`` when traced); ``validate=False`` or ``qb.set_validation(False)`` skips the checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._interop import accepts_qobj
from ._validate import as_int, check_square, check_state, state_and_spectrum, validation_enabled


def _state(rho, name, validate, size=None):
    if validate and validation_enabled():
        return check_state(rho, name, size=size)
    return check_square(jnp.asarray(rho), name, size=size)


@accepts_qobj
def purity(rho, *, validate: bool = True):
    """Purity P = Tr(rho^2) of a density matrix, in [1/d, 1] (1 for a pure state).

    Args:
        rho: density matrix (..., d, d) (finite, Hermitian, unit trace, positive).
        validate: check ``rho`` (default); ``False`` skips the check.

    Returns:
        real array of shape ``rho.shape[:-2]`` (dimensionless).

    Raises:
        ValueError: naming ``rho`` when it is not a density matrix (``eqx.error_if`` when traced).

    Example:
        >>> qb.purity(jnp.eye(2) / 2)  # 0.5, the maximally mixed qubit
    """
    rho = _state(rho, "rho", validate)
    return jnp.real(jnp.einsum("...ij,...ji->...", rho, rho))


@accepts_qobj
def trace_distance(rho1, rho2, *, validate: bool = True):
    """Trace distance D = (1/2) ||rho1 - rho2||_1 = (1/2) sum_k |eig_k(rho1 - rho2)|, in [0, 1].

    Args:
        rho1, rho2: density matrices (..., d, d) with broadcasting batch shapes.
        validate: check both states (default).

    Returns:
        real array of the broadcast batch shape (dimensionless; 0 for equal states, 1 for orthogonal).

    Raises:
        ValueError: naming ``rho1`` or ``rho2`` (not a state, or different dimensions).

    Example:
        >>> qb.trace_distance(qb.ket2dm(qb.basis(2, 0)), qb.ket2dm(qb.basis(2, 1)))  # 1.0
    """
    rho1 = check_square(jnp.asarray(rho1), "rho1")
    rho2 = check_square(jnp.asarray(rho2), "rho2")
    if rho1.shape[-1] != rho2.shape[-1]:
        raise ValueError(f"rho1 and rho2 must have the same dimension; got {rho1.shape} and {rho2.shape}")
    rho1 = _state(rho1, "rho1", validate)
    rho2 = _state(rho2, "rho2", validate)
    return 0.5 * jnp.sum(jnp.abs(jnp.linalg.eigvalsh(rho1 - rho2)), axis=-1)


# a NumPy constant: a module-level jnp array would be a tracer (and leak) when this module is first
# imported inside a jit trace, which the lazy top-level names make possible
_SY_SY = np.array([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]])


@accepts_qobj
def concurrence(rho, *, validate: bool = True):
    """Wootters concurrence of a two-qubit state (..., 4, 4), C = max(0, l1 - l2 - l3 - l4) in [0, 1].

    l_k are the square roots, in decreasing order, of the eigenvalues of rho (sy x sy) rho* (sy x sy).
    They are computed as the singular values of tau = W^T (sy x sy) W with rho = W W^dagger, which are
    real and non-negative by construction (no non-Hermitian eigensolver).

    Gradients: C is not differentiable at pure states (rank-deficient rho, for example a Bell state)
    or where l1 - l2 - l3 - l4 = 0, and the eigenvectors of a degenerate rho (a Werner state) have no
    derivative.  The value is computed as above; the gradient is that of the same formula with the
    Cholesky factor of rho + delta 1 (delta = 1e-10 Tr rho, plus any round-off negativity of rho) as W
    and l_k = sqrt(eig(tau^dagger tau)) with sqrt'(0) := 0.  It is finite everywhere, equal to the exact
    gradient to O(delta) where C is smooth, and at a pure state it is a subgradient, within about
    sqrt(delta) = 1e-5 relative of the one-sided derivative (for the Werner family
    p |Bell><Bell| + (1 - p) 1/4, dC/dp = 3/2; at p = 1 the gradient is 1.5000004).
    """
    if validate and validation_enabled():
        rho, (w, v) = state_and_spectrum(rho, "rho", size=4, eig=jnp.linalg.eigh)
    else:
        rho = check_square(jnp.asarray(rho), "rho", size=4)
        w, v = jnp.linalg.eigh(rho)
    w, v = jax.lax.stop_gradient((w, v))
    exact = _wootters(v * jnp.sqrt(jnp.clip(w, 0.0, None))[..., None, :], exact=True)
    trace = jnp.real(jnp.trace(rho, axis1=-2, axis2=-1))
    delta = 1e-10 * jax.lax.stop_gradient(trace) + 2 * jnp.clip(-w[..., 0], 0.0, None)
    W = jnp.linalg.cholesky(rho + delta[..., None, None] * jnp.eye(4, dtype=rho.dtype))
    smooth = _wootters(W)
    return exact + (smooth - jax.lax.stop_gradient(smooth))


def _wootters(W, exact: bool = False):
    """max(0, l1 - l2 - l3 - l4) with l the singular values of W^T (sy x sy) W, descending.

    ``exact``: singular values by an SVD (accurate to round-off also for small l_k; no useful
    derivative); otherwise as sqrt(eig(tau^dagger tau)) (l_k accurate to ~sqrt(eps) only, but a derivative
    that is finite everywhere).
    """
    yy = _SY_SY.astype(jnp.result_type(W.dtype, complex))
    tau = jnp.einsum("...ki,kl,...lj->...ij", W, yy, W)
    if exact:
        s = jnp.linalg.svd(tau, compute_uv=False)  # descending
        return jnp.maximum(0.0, s[..., 0] - s[..., 1] - s[..., 2] - s[..., 3])
    gram = jnp.einsum("...ki,...kj->...ij", jnp.conj(tau), tau)
    s2 = jnp.linalg.eigvalsh(0.5 * (gram + jnp.conj(jnp.swapaxes(gram, -1, -2))))[..., ::-1]
    s = _safe_sqrt(jnp.clip(s2, 0.0, None))
    return jnp.maximum(0.0, s[..., 0] - s[..., 1] - s[..., 2] - s[..., 3])


def _safe_sqrt(x):
    """sqrt(x) for x >= 0 with derivative 0 at x = 0 instead of inf (a subgradient choice)."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


@accepts_qobj
def partial_trace(rho, dims: Sequence[int], keep, *, validate: bool = True):
    """Reduced state on the subsystems ``keep`` (an index or a sequence of indices, in any order).

    ``rho`` has shape ``(..., D, D)`` with ``D = prod(dims)`` and subsystem order as in ``dims``
    (kron order: the first subsystem is the most significant).  The kept subsystems appear in
    increasing index order.  ``dims`` are positive integers, ``keep`` integers without repetition;
    ``rho`` must be a density matrix (skip the check with ``validate=False``).
    """
    rho = _state(rho, "rho", validate)
    try:
        dims = tuple(as_int(d, "dims", minimum=1) for d in dims)
    except ValueError:
        raise ValueError(f"dims must be a non-empty sequence of positive integers; got {dims}") from None
    if not dims:
        raise ValueError(f"dims must be a non-empty sequence of positive integers; got {dims}")
    keep_list = [keep] if np.ndim(keep) == 0 else list(keep)
    keep_ints = [as_int(k, "keep") for k in keep_list]
    if len(set(keep_ints)) != len(keep_ints):
        raise ValueError(f"keep must name each subsystem at most once; got {keep_list}")
    keep = sorted(keep_ints)
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
    """The basis ket |k> of a d-dimensional space, shape (d,), complex by default.

    Example:
        >>> qb.basis(3, 1)  # [0, 1, 0]
    """
    return jnp.zeros(d, dtype=dtype or jnp.result_type(complex)).at[k].set(1.0)


@accepts_qobj
def ket2dm(psi):
    """The projector |psi><psi| of kets psi (..., d), shape (..., d, d) (no normalisation applied).

    Example:
        >>> qb.ket2dm(qb.basis(2, 0))  # [[1, 0], [0, 0]]
    """
    psi = jnp.asarray(psi)
    return psi[..., :, None] * jnp.conj(psi)[..., None, :]


@accepts_qobj
def tensor(*ops):
    """Kronecker product A_1 (x) A_2 (x) ... of operators (or kets); the first factor is the most
    significant (the ordering of :func:`partial_trace` and of ``qutip.tensor``).

    Example:
        >>> qb.tensor(qb.basis(2, 1), qb.basis(2, 0))  # |1, 0> = [0, 0, 1, 0]
    """
    out = jnp.asarray(ops[0])
    for op in ops[1:]:
        out = jnp.kron(out, jnp.asarray(op))
    return out


@accepts_qobj
def wigner(rho, xvec, pvec, g=np.sqrt(2.0)):
    """Wigner function W(x, p) of a Fock-basis density matrix ``rho`` (N, N), in JAX.

    Convention of ``qutip.wigner(rho, xvec, pvec, g=sqrt(2))``: alpha = g (x + i p) / 2, W normalised
    to integrate to 1 over dx dp.  Algorithm: QuTiP's iterative scheme, W = (g^2 / 2) sum_{m,n}
    rho_mn W_mn with W_00 = exp(-2|alpha|^2)/pi, W_0n = 2 alpha W_0,n-1 / sqrt(n),
    W_mm = (2 conj(alpha) W_m-1,m - sqrt(m) W_m-1,m-1)/sqrt(m), W_mn = (2 alpha W_m,n-1 - sqrt(m)
    W_m-1,n-1)/sqrt(n) (n > m), real parts doubled off the diagonal; numerically stable (no
    factorials).  Shape (len(pvec), len(xvec)); cost O(N^2 * grid) as N^2 sequential array steps.
    """
    rho = check_square(jnp.asarray(rho), "rho")
    N = rho.shape[-1]
    X, P = jnp.meshgrid(jnp.asarray(xvec, dtype=float), jnp.asarray(pvec, dtype=float))
    A = 0.5 * g * (X + 1j * P)
    w0 = jnp.exp(-2.0 * jnp.abs(A) ** 2) / jnp.pi + 0j
    sq = jnp.sqrt(jnp.arange(N, dtype=float))

    def first_row(prev, n):
        cur = 2.0 * A * prev / sq[n]
        return cur, cur

    _, row = jax.lax.scan(first_row, w0, jnp.arange(1, N))
    row0 = jnp.concatenate([w0[None], row])  # W_0n, n = 0..N-1
    W = jnp.real(rho[0, 0]) * jnp.real(w0) + 2 * jnp.sum(jnp.real(rho[0, 1:, None, None] * row0[1:]), axis=0)

    def next_row(carry, m):
        prev_row, W = carry  # prev_row[n] = W_{m-1, n}
        diag = (2.0 * jnp.conj(A) * prev_row[m] - sq[m] * prev_row[m - 1]) / sq[m]

        def inner(cur, n):  # cur = W_{m, n-1}
            new = (2.0 * A * cur - sq[m] * prev_row[n - 1]) / jnp.where(n > 0, sq[n], 1.0)
            new = jnp.where(n > m, new, jnp.where(n == m, diag, 0.0))
            return new, new

        _, cur_row = jax.lax.scan(inner, jnp.zeros_like(w0), jnp.arange(N))
        weights = jnp.where(jnp.arange(N) > m, 2.0, jnp.where(jnp.arange(N) == m, 1.0, 0.0))
        W = W + jnp.sum(weights[:, None, None] * jnp.real(rho[m, :, None, None] * cur_row), axis=0)
        return (cur_row, W), None

    if N > 1:
        (_, W), _ = jax.lax.scan(next_row, (row0, W), jnp.arange(1, N))
    return 0.5 * g**2 * W


def destroy(n: int, dtype=None):
    """Truncated bosonic annihilation operator a (n, n) on Fock states 0..n-1: a|k> = sqrt(k)|k-1>
    (the convention of ``qutip.destroy``); complex by default.

    Raises:
        ValueError: naming ``n`` when it is not a positive integer.

    Example:
        >>> a = qb.destroy(3); a.conj().T @ a  # the number operator diag(0, 1, 2)
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}")
    return jnp.diag(jnp.sqrt(jnp.arange(1, n, dtype=float)), k=1).astype(dtype or jnp.result_type(complex))


def dicke_operators(n_qubits: int, dtype=None):
    """Collective spin operators (J_z, J_+, J_-) of N qubits in the symmetric Dicke space, J = N/2.

    Basis |J, M> ordered as ``qutip.jmat(J, ...)``: index i = 0..N holds M = J - i (index 0 is the
    fully excited |J, J>).  J_z = diag(J - i), J_+|J, M> = sqrt(J(J+1) - M(M+1)) |J, M+1>, J_- = J_+^T.
    Shapes (N+1, N+1).
    """
    n = int(n_qubits)
    if n < 1:
        raise ValueError(f"n_qubits must be a positive integer; got {n}")
    j = n / 2
    m = j - np.arange(n + 1)
    cp = np.sqrt(j * (j + 1) - m[1:] * (m[1:] + 1))  # <M+1|J+|M> for M = m[1:]
    dt = dtype or jnp.result_type(complex)
    jp = jnp.asarray(np.diag(cp, k=1), dtype=dt)
    return jnp.asarray(np.diag(m), dtype=dt), jp, jp.T
