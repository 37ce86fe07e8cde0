"""Superoperators in the row-major vectorisation vec(rho) = rho.reshape(d * d).

With this convention vec(A rho B) = (A kron B^T) vec(rho), so

    spre(A)  = A kron 1        (rho -> A rho)
    spost(B) = 1 kron B^T      (rho -> rho B)

and the Lindblad generator of H and jump operators L_k (rates folded into L_k, units 1/time, or given
separately as ``rates``) is

    liouvillian(H, L) = -i (H kron 1 - 1 kron H^T)
                        + sum_k [L_k kron L_k^* - (1/2) (L_k^dag L_k kron 1) - (1/2) (1 kron (L_k^dag L_k)^T)].

Every function takes leading batch dimensions.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._interop import accepts_qobj
from ._validate import check_finite, check_hamiltonian, check_square, checks, finite_rules, validation_enabled


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


@accepts_qobj
def vec(rho):
    """Row-major vectorisation vec(rho) = rho.reshape(d * d): (..., d, d) -> (..., d^2).

    qbjax's convention throughout: vec(A rho B) = (A (x) B^T) vec(rho).  QuTiP stacks columns instead
    (its ``operator_to_vector``), so a QuTiP superoperator acts on vec(rho^T): convert it before use.
    """
    rho = jnp.asarray(rho)
    return rho.reshape(rho.shape[:-2] + (rho.shape[-1] * rho.shape[-2],))


def unvec(x, d: int | None = None):
    """Inverse of :func:`vec`: (..., d^2) -> (..., d, d) (row-major).

    Raises:
        ValueError: when the length is not d^2 (or not the square of the ``d`` given).
    """
    x = jnp.asarray(x)
    if d is None:
        d = int(round(x.shape[-1] ** 0.5))
    if d * d != x.shape[-1]:
        raise ValueError(f"a vector of length {x.shape[-1]} is not a vectorised {d}x{d} matrix")
    return x.reshape(x.shape[:-1] + (d, d))


@accepts_qobj
def spre(a):
    """Superoperator of rho -> a rho in the row-major convention: a (x) 1.

    ``a`` (..., d, d); returns (..., d^2, d^2) with ``spre(a) @ vec(rho) == vec(a @ rho)``.
    """
    a = jnp.asarray(a)
    return _kron(a, jnp.eye(a.shape[-1], dtype=a.dtype))


@accepts_qobj
def spost(b):
    """Superoperator of rho -> rho b in the row-major convention: 1 (x) b^T.

    ``b`` (..., d, d); returns (..., d^2, d^2) with ``spost(b) @ vec(rho) == vec(rho @ b)``.
    """
    b = jnp.asarray(b)
    return _kron(jnp.eye(b.shape[-1], dtype=b.dtype), jnp.swapaxes(b, -1, -2))


@accepts_qobj
def sprepost(a, b):
    """Superoperator of rho -> a rho b in the row-major convention: a (x) b^T.

    ``a``, ``b`` (..., d, d); returns (..., d^2, d^2) with ``sprepost(a, b) @ vec(rho) == vec(a @ rho @ b)``.
    """
    return _kron(jnp.asarray(a), jnp.swapaxes(jnp.asarray(b), -1, -2))


@accepts_qobj
def commutator_superop(H):
    """The unitary part -i [H, .] of a Lindblad generator: -i (H (x) 1 - 1 (x) H^T), (..., d^2, d^2).

    ``H`` (..., d, d) in units of energy = 1/time (hbar = 1); the result has units of 1/time.
    """
    H = jnp.asarray(H)
    return -1j * (spre(H) - spost(H))


@accepts_qobj
def dissipator(L):
    """The Lindblad dissipator D[L] rho = L rho L^dag - (1/2) {L^dag L, rho} as a superoperator.

    ``L`` (..., d, d), with its rate folded in (L = sqrt(gamma) a, units 1/sqrt(time)); returns
    (..., d^2, d^2) in the row-major convention, L (x) L^* - (1/2) (L^dag L (x) 1 + 1 (x) (L^dag L)^T).
    """
    L = jnp.asarray(L)
    LdL = _dag(L) @ L
    return sprepost(L, _dag(L)) - 0.5 * spre(LdL) - 0.5 * spost(LdL)


@accepts_qobj
def liouvillian(H, jump_ops=(), rates=None, *, validate: bool = True):
    """Lindblad generator L = -i[H, .] + sum_k rate_k D[A_k], shape (..., d^2, d^2), row-major vec.

    Args:
        H: Hamiltonian (..., d, d), units of energy = 1/time (hbar = 1); finite and Hermitian.
        jump_ops: jump operators A_k, either a sequence of (..., d, d) arrays or one array
            (..., K, d, d).  Without ``rates`` their rates are folded in (A_k = sqrt(gamma_k) a_k).
        rates: optional rates gamma_k >= 0 (units 1/time), shape (..., K) or a sequence of K
            scalars.  The generator is then linear in each rate, so derivatives with respect to a
            rate are exact at rate = 0 (sqrt(gamma) in a jump operator has an infinite derivative
            there, and gradients through it are NaN).

    Batch dimensions of ``H``, ``jump_ops`` and ``rates`` broadcast.  Raises ``ValueError`` naming
    ``H``, ``jump_ops`` or ``rates`` for a non-square, non-finite or non-Hermitian H, non-finite
    jump operators, or negative or non-finite rates (``eqx.error_if`` when traced); ``validate=False``
    skips these checks (shapes are always checked).

    Vectorisation convention: the result acts on the row-major vec(rho) = rho.reshape(d * d); QuTiP's
    ``qutip.liouvillian`` acts on the column-stacked vec, and equals P L P for the permutation P of
    :func:`qbjax._interop.vec_permutation` (use :func:`qbjax.to_qutip` / :func:`qbjax.from_qutip`,
    never ``.full()``: a wrongly vectorised generator is still trace preserving and gives the
    transposed states, so nothing downstream detects it).  ``H`` and the jump operators may be
    ``qutip.Qobj`` operators.
    """
    validate = validate and validation_enabled()
    H = check_hamiltonian(H, "H") if validate else check_square(jnp.asarray(H), "H")
    L = commutator_superop(H.astype(jnp.result_type(H.dtype, complex)))
    if isinstance(jump_ops, (list, tuple)):
        if len(jump_ops) == 0:
            if rates is not None and np.size(rates) != 0:
                raise ValueError(f"rates has {np.size(rates)} entries but there are no jump_ops")
            return L
        jump_ops = jnp.stack(jnp.broadcast_arrays(*[jnp.asarray(c) for c in jump_ops]), axis=-3)
    jump_ops = check_finite(jump_ops, "jump_ops") if validate else jnp.asarray(jump_ops)
    if jump_ops.ndim < 3 or jump_ops.shape[-1] != H.shape[-1] or jump_ops.shape[-2] != H.shape[-1]:
        raise ValueError(
            f"jump_ops must have shape (..., K, {H.shape[-1]}, {H.shape[-1]}); got {jump_ops.shape}"
        )
    D = dissipator(jump_ops)  # (..., K, d^2, d^2)
    if rates is None:
        return L + jnp.sum(D, axis=-3)
    rates = jnp.asarray(rates, dtype=jnp.result_type(float))
    if rates.ndim == 0 or rates.shape[-1] != jump_ops.shape[-3]:
        raise ValueError(f"rates must have shape (..., {jump_ops.shape[-3]}), one per jump operator; "
                         f"got {rates.shape}")
    if validate:
        rates = checks(rates, finite_rules(rates, "rates") + [(lambda: jnp.all(rates >= 0), "rates must be >= 0")])
    return L + jnp.einsum("...k,...kij->...ij", rates.astype(D.dtype), D)


def lindblad_rhs(H, jump_ops, rho, rates=None):
    """The Lindblad master equation in operator form, d rho/dt (..., d, d):

        d rho/dt = -i [H, rho] + sum_k gamma_k (A_k rho A_k^dag - (1/2) {A_k^dag A_k, rho}),

    the action of :func:`liouvillian` on vec(rho) without building the (d^2, d^2) generator: O(K d^3)
    per evaluation instead of O(d^4) (the cost that matters inside an ODE right-hand side).  ``H``
    (..., d, d), ``jump_ops`` (..., K, d, d) (rates folded in, or given as ``rates`` (..., K), units
    1/time), ``rho`` (..., d, d); batch dimensions broadcast.  No validation (a hot-loop function:
    the caller checks H, the operators and the state once, e.g. with :func:`liouvillian`).
    """
    A = jnp.asarray(jump_ops)
    H = jnp.asarray(H)
    out = -1j * (H @ rho - rho @ H)
    if A.shape[-3] == 0:
        return out
    Ad = _dag(A)
    r = rho[..., None, :, :]
    terms = A @ r @ Ad - 0.5 * (Ad @ A @ r + r @ Ad @ A)  # (..., K, d, d)
    if rates is None:
        return out + jnp.sum(terms, axis=-3)
    rates = jnp.asarray(rates)
    return out + jnp.sum(rates[..., :, None, None].astype(terms.dtype) * terms, axis=-3)


def trace_vector(d: int, dtype=None):
    """The trace functional <<1| = vec(identity), shape (d^2,): Tr(rho) = vec(1) . vec(rho), and a
    trace-preserving generator L satisfies vec(1)^T L = 0."""
    return vec(jnp.eye(d, dtype=dtype or jnp.result_type(complex)))
