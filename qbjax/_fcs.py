"""Exact full counting statistics by recursive Rayleigh-Schroedinger perturbation theory.

For a tilted generator L(lam) (counting field lam) the scaled cumulant generating function S(lam) is
the eigenvalue of L(lam) that is continuously connected to s0 = S(0) (s0 = 0 for a trace-preserving
L(0)), and the cumulant rates are j^(n) = d^n S / d lam^n at lam = 0.  With the right and left
eigenvectors |0>> and <<1| of L(0) for s0 (<<1|0>> = 1), P = |0>><<1|,
R = (L0 - s0 - P)^{-1} (1 - P), and L^(m) = d^m L / d lam^m at 0 (nested forward-mode AD),

    j^(n)    = sum_{m=1..n} C(n, m) <<1| L^(m) |0^(n-m)>>
    |0^(n)>> = R sum_{m=1..n} C(n, m) (j^(m) - L^(m)) |0^(n-m)>>,      |0^(0)>> = |0>>

(Flindt, Novotny, Braggio, Jauho, PRB 82, 155407 (2010)).  No finite differences, no non-symmetric
eigensolver: one LU factorisation of L0 - s0 - P (unrolled without LAPACK for m <= 8) and order + 1 derivative
matrices.  Batched over
leading dimensions and differentiable.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb

import jax
import jax.numpy as jnp

from ._linalg import lu, lu_solve
from ._steady import null_vector
from ._superop import trace_vector
from ._validate import as_int, check_finite, validation_enabled


def generator_derivatives(generator: Callable, order: int, lam0=0.0):
    """[L(lam0), L'(lam0), ..., L^(order)(lam0)] by nested forward-mode differentiation."""
    lam0 = jnp.asarray(lam0, dtype=jnp.result_type(float))
    fs = [generator]
    for _ in range(order):
        fs.append(jax.jacfwd(fs[-1]))
    return [f(lam0) for f in fs]


def cumulants_from_derivatives(derivs, right, left, s0=0.0, method: str = "auto"):
    """Rayleigh-Schroedinger cumulants j^(1..n) from derivative matrices and an eigen-triple.

    Args:
        derivs: [L0, L1, ..., Ln], each (..., m, m).
        right: right eigenvector |0>> of L0 for ``s0``, (..., m).
        left: left eigenvector <<1| of L0 for ``s0``, (..., m) or (m,), normalised <<1|0>> = 1.
        s0: the eigenvalue (0 for a trace-preserving generator).
        method: the linear solver for the resolvent, as in :func:`qbjax._steady.null_vector`
            ("auto": unrolled elimination for m <= 8, LAPACK above).

    Returns:
        (..., n) cumulant rates.  Real when all inputs are real.
    """
    L0 = derivs[0]
    order = len(derivs) - 1
    m = L0.shape[-1]
    dtype = jnp.result_type(L0.dtype, right.dtype, left.dtype)
    left = jnp.broadcast_to(left, right.shape).astype(dtype)
    right = right.astype(dtype)
    s0 = jnp.asarray(s0, dtype=dtype)
    P = right[..., :, None] * left[..., None, :]
    eye = jnp.eye(m, dtype=dtype)
    M = L0.astype(dtype) - s0[..., None, None] * eye - P
    fact = lu(M, method)

    def dot_left(v):
        return jnp.sum(left * v, axis=-1)

    def apply_R(v):
        v = v - right * dot_left(v)[..., None]  # (1 - P) v
        return lu_solve(fact, v)

    states = [right]
    js = []
    for n in range(1, order + 1):
        jn = sum(comb(n, k) * dot_left(_mv(derivs[k], states[n - k])) for k in range(1, n + 1))
        js.append(jn)
        if n < order:
            rhs = sum(
                comb(n, k) * (js[k - 1][..., None] * states[n - k] - _mv(derivs[k], states[n - k]))
                for k in range(1, n + 1)
            )
            states.append(apply_R(rhs))
    return jnp.stack(js, axis=-1)


def _mv(A, v):
    return jnp.einsum("...ij,...j->...i", A, v)


def cumulants(generator: Callable, order: int = 4, *, trace=None):
    """Exact cumulant rates j^(1..order) of a tilted generator ``lam -> L(lam)``.

    Args:
        generator: function of a real scalar lam returning the (..., m, m) tilted generator; L(0)
            must be finite and trace preserving with respect to ``trace`` (``ValueError`` naming
            ``generator(0)`` otherwise, ``eqx.error_if`` when traced), with a unique steady state.
        order: number of cumulants (>= 1).
        trace: the trace functional <<1| as a length-m vector (t^T L(0) = 0).  Default: vec(identity)
            when m is a perfect square (a Lindblad superoperator); required otherwise.

    Returns:
        (..., order) array (j1 mean current, j2 variance rate, j3 skewness rate, j4 kurtosis rate).
    """
    order = as_int(order, "order", minimum=1)
    derivs = generator_derivatives(generator, order)
    m = derivs[0].shape[-1]
    if trace is None:
        d = int(round(m**0.5))
        if d * d != m:
            raise ValueError(
                f"the generator is {m}x{m}, not a Lindblad superoperator: pass trace= (the trace functional)"
            )
        trace = trace_vector(d, dtype=jnp.result_type(derivs[0].dtype, complex))
        what = ("vec(identity); a generator in another representation, e.g. a classical rate matrix, "
                "needs trace= (its trace functional, all ones for populations)")
    else:
        what = "trace"
    trace = jnp.asarray(trace)
    if trace.shape != (m,):
        raise ValueError(f"trace must have shape ({m},); got {trace.shape}")
    if validation_enabled():
        for k, D in enumerate(derivs[1:], start=1):
            derivs[k] = check_finite(D, f"generator derivative d^{k}L/dlam^{k}")
    right = null_vector(derivs[0], trace, name="generator(0)", validate=validation_enabled(), what=what)
    js = cumulants_from_derivatives(derivs, right, trace)
    if jnp.iscomplexobj(js):
        js = jnp.real(js)
    return js
