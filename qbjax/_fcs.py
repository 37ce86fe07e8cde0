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

from ._linalg import _rows, choose, lu, lu_entries, lu_solve, matvec_entries, solve_entries
from ._steady import _flag_singular, bordered_entries, null_vector
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
    m = L0.shape[-1]
    dtype = jnp.result_type(L0.dtype, right.dtype, left.dtype)
    left = jnp.broadcast_to(left, right.shape).astype(dtype)
    right = right.astype(dtype)
    if choose(m, method) == "unrolled":
        js = cumulants_from_entries([_rows(D) for D in derivs], _cols(right), _cols(left), s0)
        return jnp.stack(js, axis=-1)
    s0 = jnp.asarray(s0, dtype=dtype)
    P = right[..., :, None] * left[..., None, :]
    eye = jnp.eye(m, dtype=dtype)
    fact = lu(L0.astype(dtype) - s0[..., None, None] * eye - P, "lapack")

    def dot_left(v):
        return jnp.sum(left * v, axis=-1)

    def apply_R(v):
        return lu_solve(fact, v - right * dot_left(v)[..., None])  # R (1 - P) v

    def combine(terms):
        return sum(jnp.asarray(c)[..., None] * v for c, v in terms)

    js = _recursion(len(derivs) - 1, lambda k, v: _mv(derivs[k], v), dot_left, apply_R, right, combine)
    return jnp.stack(js, axis=-1)


def cumulants_from_entries(derivs, right, left, s0=0.0):
    """:func:`cumulants_from_derivatives` with every matrix an m x m nested list of arrays and every
    vector a list of m arrays (the batch-last layout of :func:`qbjax._linalg.lu_entries`).

    ``derivs[k]`` (k >= 1) may hold ``None`` for its structural zeros: a counting field usually
    enters a generator in one or two entries, and then L^(k) |v>> costs one or two products.
    Returns the list [j1, ..., jn] of arrays.
    """
    m = len(right)
    L0 = derivs[0]
    s0 = jnp.asarray(s0)
    M = [[L0[i][j] - (s0 if i == j else 0.0) - right[i] * left[j] for j in range(m)] for i in range(m)]
    fact = lu_entries(M)

    def apply_R(v):
        s = _dot(left, v)
        return solve_entries(fact, [vi - ri * s for vi, ri in zip(v, right)])  # R (1 - P) v

    return _recursion(len(derivs) - 1, lambda k, v: matvec_entries(derivs[k], v), lambda v: _dot(left, v), apply_R,
                      right, _combine(m))


def _dot(a, v):
    """sum_i a_i v_i of two lists of arrays (entry-list vectors)."""
    terms = [x * y for x, y in zip(a, v)]
    return sum(terms[1:], terms[0])


def _combine(m: int):
    """(coefficient, entry-list vector) pairs -> their linear combination, for vectors of length m."""
    return lambda terms: [sum(c * v[i] for c, v in terms) for i in range(m)]


def stationary_cumulants_entries(derivs, t, *, row: int = 0, name: str = "generator(0)"):
    """Steady state and cumulants of a trace-preserving tilted generator given as entry lists (the
    form of :func:`cumulants_from_entries`), with ONE unrolled factorisation instead of two.

    For t^T L0 = 0 and s = max|L0_ij|, the bordered matrix A = L0 / s + e_row t^T (t_row != 0) is
    invertible exactly when the steady state is unique, and

        x = A^{-1} e_row                          (L0 x = 0, t.x = 1),
        R v = A^{-1} (v / s)   for t.v = 0         (the w with L0 w = v, t.w = 0),

    since t^T A = t_row t^T gives t.w = 0 for the solution of A w = v / s.  The resolvent of the
    recursion acts only on such v (it is applied to (1 - P) v), so both the steady state and every
    resolvent step are solves with the same factors.  ``derivs`` = [L0, L1, ...] (L^(k) may hold
    ``None`` for structural zeros), ``t`` the trace functional (length m).  Returns (x as a list of m
    arrays, [j1, ..., jn]).  A singular A raises, or gives NaN with validation off (as
    :func:`qbjax._steady.null_vector`).
    """
    m = len(derivs[0])
    x, singular, fact, scale, tl = bordered_entries(derivs[0], t, row, border="add")
    if validation_enabled():
        x = _flag_singular(x, singular, name)

    def apply_R(v):
        p = _dot(tl, v)
        return solve_entries(fact, [(vi - xi * p) / scale for vi, xi in zip(v, x)])  # A^{-1} (1 - P) v / s

    js = _recursion(len(derivs) - 1, lambda k, v: matvec_entries(derivs[k], v), lambda v: _dot(tl, v), apply_R, x,
                    _combine(m))
    if not validation_enabled():  # NaN also where a cumulant never touches x (a counting field on no entry)
        js = [j + 0.0 * x[0] for j in js]
    return x, js


def _recursion(order, apply_derivative, dot_left, apply_R, right, combine):
    """The recursion of the module docstring, for any representation of vectors: ``combine`` forms
    sum_i c_i v_i from (coefficient, vector) pairs."""
    states = [right]
    js = []
    for n in range(1, order + 1):
        Dv = [(comb(n, k), apply_derivative(k, states[n - k])) for k in range(1, n + 1)]
        js.append(sum(c * dot_left(v) for c, v in Dv))
        if n < order:
            terms = [(comb(n, k) * js[k - 1], states[n - k]) for k in range(1, n + 1)]
            states.append(apply_R(combine(terms + [(-c, v) for c, v in Dv])))
    return js


def _cols(v):
    return [v[..., i] for i in range(v.shape[-1])]


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
