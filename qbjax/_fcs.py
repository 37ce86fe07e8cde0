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

import itertools
import math
from collections.abc import Callable
from math import comb

import jax
import jax.numpy as jnp
import numpy as np

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
    js = _rs(derivs[0], lambda b: derivs[b[0]], [(n,) for n in range(1, len(derivs))], right, left, s0, method)
    return jnp.stack(list(js.values()), axis=-1)


def _rs(L0, derivative, indices, right, left, s0, method):
    """dict alpha -> j^(alpha) of :func:`_multi_recursion` for the count vectors ``indices``, with
    ``derivative(beta)`` the (..., m, m) matrix L^(beta): the resolvent as in
    :func:`cumulants_from_derivatives` (unrolled entry lists for m <= 8 with ``method="auto"``)."""
    m = L0.shape[-1]
    dtype = jnp.result_type(L0.dtype, right.dtype, left.dtype)
    left = jnp.broadcast_to(left, right.shape).astype(dtype)
    right = right.astype(dtype)
    if choose(m, method) == "unrolled":
        rows = {}

        def apply_entries(beta, v):
            if beta not in rows:
                rows[beta] = _rows(derivative(beta))
            return matvec_entries(rows[beta], v)

        right, left = _cols(right), _cols(left)
        apply_R = _resolvent_entries(_rows(L0), right, left, s0)
        return _multi_recursion(indices, apply_entries, lambda v: _dot(left, v), apply_R, right, _combine(m))
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

    return _multi_recursion(indices, lambda b, v: _mv(derivative(b), v), dot_left, apply_R, right, combine)


def cumulants_from_entries(derivs, right, left, s0=0.0):
    """:func:`cumulants_from_derivatives` with every matrix an m x m nested list of arrays and every
    vector a list of m arrays (the batch-last layout of :func:`qbjax._linalg.lu_entries`).

    ``derivs[k]`` (k >= 1) may hold ``None`` for its structural zeros: a counting field usually
    enters a generator in one or two entries, and then L^(k) |v>> costs one or two products.
    Returns the list [j1, ..., jn] of arrays.
    """
    apply_R = _resolvent_entries(derivs[0], right, left, s0)
    return _recursion(len(derivs) - 1, lambda k, v: matvec_entries(derivs[k], v), lambda v: _dot(left, v), apply_R,
                      right, _combine(len(right)))


def _resolvent_entries(L0, right, left, s0):
    """v -> R (1 - P) v, R = (L0 - s0 - P)^{-1}, P = |right>><<left|, for entry lists (one factorisation)."""
    m = len(right)
    s0 = jnp.asarray(s0)
    M = [[L0[i][j] - (s0 if i == j else 0.0) - right[i] * left[j] for j in range(m)] for i in range(m)]
    fact = lu_entries(M)

    def apply_R(v):
        s = _dot(left, v)
        return solve_entries(fact, [vi - ri * s for vi, ri in zip(v, right)])  # R (1 - P) v

    return apply_R


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
    sum_i c_i v_i from (coefficient, vector) pairs.  The one-field case of :func:`_multi_recursion`
    (the same operations in the same order)."""
    js = _multi_recursion([(n,) for n in range(1, order + 1)], lambda b, v: apply_derivative(b[0], v), dot_left,
                          apply_R, right, combine)
    return [js[(n,)] for n in range(1, order + 1)]


def _multi_recursion(indices, apply_derivative, dot_left, apply_R, right, combine):
    """The recursion of the module docstring for multi-indices (the Leibniz rule in several variables).

    ``indices``: count vectors alpha (tuples of k non-negative ints, |alpha| >= 1), every alpha after
    all count vectors of lower order (all of them up to the largest order must be present).  With
    C(alpha, beta) = prod_i C(alpha_i, beta_i) and 0 < beta <= alpha componentwise,

        j^(alpha)    = sum_beta C(alpha, beta) <<1| L^(beta) |0^(alpha-beta)>>
        |0^(alpha)>> = R sum_beta C(alpha, beta) (j^(beta) - L^(beta)) |0^(alpha-beta)>>.

    ``apply_derivative(beta, v)`` = L^(beta) v.  Returns the dict alpha -> j^(alpha)."""
    top = max(sum(a) for a in indices)
    states = {(0,) * len(indices[0]): right}
    js = {}
    for alpha in indices:
        betas = [b for b in itertools.product(*(range(a + 1) for a in alpha)) if any(b)]
        coef = [math.prod(comb(a, b) for a, b in zip(alpha, beta)) for beta in betas]
        rest = [tuple(a - b for a, b in zip(alpha, beta)) for beta in betas]
        Dv = [(c, apply_derivative(beta, states[r])) for c, beta, r in zip(coef, betas, rest)]
        js[alpha] = sum(c * dot_left(v) for c, v in Dv)
        if sum(alpha) < top:
            terms = [(c * js[beta], states[r]) for c, beta, r in zip(coef, betas, rest)]
            states[alpha] = apply_R(combine(terms + [(-c, v) for c, v in Dv]))
    return js


def _cols(v):
    return [v[..., i] for i in range(v.shape[-1])]


def _mv(A, v):
    return jnp.einsum("...ij,...j->...i", A, v)


def cumulants(generator: Callable, order: int = 4, *, trace=None, n_fields: int | None = None):
    """Exact cumulant rates j^(1..order) of a tilted generator ``lam -> L(lam)``.

    The scaled cumulant generating function S(lam) is the eigenvalue of L(lam) connected to S(0) = 0
    and j^(n) = d^n S / d lam^n at lam = 0, by the Rayleigh-Schroedinger recursion of Flindt et al.,
    PRB 82, 155407 (2010) (module docstring): no finite differences, no eigensolver.

    Args:
        generator: function of a real scalar lam returning the (..., m, m) tilted generator; L(0)
            must be finite and trace preserving with respect to ``trace`` (``ValueError`` naming
            ``generator(0)`` otherwise, ``eqx.error_if`` when traced), with a unique steady state.
        order: number of cumulants (>= 1).
        trace: the trace functional <<1| as a length-m vector (t^T L(0) = 0).  Default: vec(identity)
            when m is a perfect square (a Lindblad superoperator); required otherwise.
        n_fields: None (default) for one scalar counting field; an int k >= 1 for k counting fields,
            ``generator`` then takes lam of shape (k,) and the result is that of
            :func:`joint_cumulants` (a tuple of symmetric tensors, not an array).

    Returns:
        (..., order) array (j1 mean current, j2 variance rate, j3 skewness rate, j4 kurtosis rate);
        with ``n_fields`` the tuple (j1, ..., j_order) of :func:`joint_cumulants`.

    Raises:
        ValueError: ``order`` or ``n_fields`` not an integer >= 1, ``generator(0)`` not finite or not
            trace preserving (or without a unique steady state), a derivative not finite, a ``trace`` of
            the wrong shape.

    Example:
        >>> a, b = 1.0, 2.0
        >>> gen = lambda lam: jnp.array([[-a, b * jnp.exp(lam)], [a, -b]])   # two-state jump process
        >>> j = qb.cumulants(gen, order=2, trace=jnp.ones(2))              # j[0] = a b / (a + b)
    """
    if n_fields is not None:
        return joint_cumulants(generator, n_fields, order, trace=trace)
    order = as_int(order, "order", minimum=1)
    derivs = generator_derivatives(generator, order)
    right, trace = _steady_right(derivs, trace)
    js = cumulants_from_derivatives(derivs, right, trace)
    if jnp.iscomplexobj(js):
        js = jnp.real(js)
    return js


def joint_cumulants(generator: Callable, n_fields: int, order: int = 4, *, trace=None, method: str = "lapack"):
    """Exact joint cumulant rates of k = ``n_fields`` counting fields: the symmetric tensors

        j^(n)_{i1...in} = d^n S / d lam_i1 ... d lam_in  at lam = 0,     n = 1..order,

    S(lam) the scaled cumulant generating function (the eigenvalue of L(lam) connected to S(0) = 0).
    The Rayleigh-Schroedinger recursion of Flindt et al., PRB 82, 155407 (2010),
    written for multi-indices: with count vectors alpha, C(alpha, beta) = prod_i C(alpha_i, beta_i)
    and L^(beta) the partial derivatives of L at 0 (nested ``jax.jacfwd``),

        j^(alpha)    = sum_{0 < beta <= alpha} C(alpha, beta) <<1| L^(beta) |0^(alpha-beta)>>,
        |0^(alpha)>> = R sum_{0 < beta <= alpha} C(alpha, beta) (j^(beta) - L^(beta)) |0^(alpha-beta)>>,

    evaluated once per distinct sorted multi-index (C(n + k - 1, n) at order n) with ONE
    factorisation of L0 - P; the tensors are filled by symmetry.  Exact (no finite differences),
    batched over leading dimensions, compatible with ``jit``, ``vmap`` and ``grad``.  The diagonal
    entries j^(n)_{i...i} are the scalar :func:`cumulants` of field i, j^(2) the covariance-rate
    matrix (zero-frequency noise) of the k currents.

    Args:
        generator: function of lam, shape (k,), returning the (..., m, m) tilted generator L(lam);
            L(0) finite and trace preserving with respect to ``trace``, with a unique steady state.
        n_fields: the number k of counting fields (int >= 1).
        order: the highest cumulant order (int >= 1).
        trace: the trace functional <<1| (length m, t^T L(0) = 0).  Default: vec(identity) for a
            (d^2, d^2) Lindblad superoperator; required otherwise (all ones for a rate matrix).
        method: the resolvent's linear solver: "lapack" (default: one batched LU, quick to compile),
            "unrolled" (the batch-last elimination of :mod:`qbjax._linalg`, m <= 8 only; faster at run
            time for large batches, but its program grows with the number of multi-indices and takes
            several times longer to compile) or "auto" (unrolled for m <= 8).

    Returns:
        tuple (j1, ..., j_order) of real arrays: j1 (..., k) the mean currents, j2 (..., k, k) the
        covariance rates (symmetric), j3 (..., k, k, k), j4 (..., k, k, k, k), ...

    Raises:
        ValueError: ``order`` or ``n_fields`` not an integer >= 1, ``generator(0)`` not finite, not
            trace preserving or without a unique steady state (``eqx.error_if`` when traced), a
            derivative not finite, a ``trace`` of the wrong shape.

    Example:
        >>> r1, r2 = 0.5, 2.0   # two independent Poisson processes (one state): j2 = diag(r1, r2)
        >>> gen = lambda lam: (r1 * jnp.expm1(lam[0]) + r2 * jnp.expm1(lam[1])).reshape(1, 1)
        >>> j1, j2 = qb.joint_cumulants(gen, 2, order=2, trace=jnp.ones(1))
    """
    k = as_int(n_fields, "n_fields", minimum=1)
    order = as_int(order, "order", minimum=1)
    derivs = generator_derivatives(generator, order, jnp.zeros(k, dtype=jnp.result_type(float)))
    right, trace = _steady_right(derivs, trace)
    return joint_from_derivatives(derivs, right, trace, method)


def joint_from_derivatives(derivs, right, left, method: str = "lapack"):
    """The tensors (j1, ..., j_n) of :func:`joint_cumulants` from the derivatives of a trace-preserving
    generator, without the input checks.

    Args:
        derivs: [L0, DL, D^2 L, ...]: L0 (..., m, m) and D^n L (..., m, m, k, ..., k) (nested
            ``jax.jacfwd``, :func:`generator_derivatives` with a (k,) point).
        right: the steady state |0>> of L0, (..., m), <<1|0>> = 1.
        left: the trace functional <<1|, (m,) or (..., m).
        method: the resolvent's solver, as in :func:`joint_cumulants`.
    """
    k = derivs[1].shape[-1]  # order >= 1: D L is (..., m, m, k)
    order = len(derivs) - 1
    sorted_indices = [list(itertools.combinations_with_replacement(range(k), n)) for n in range(1, order + 1)]
    counts = [tuple(idx.count(i) for i in range(k)) for level in sorted_indices for idx in level]

    def derivative(beta):
        idx = tuple(i for i in range(k) for _ in range(beta[i]))
        return derivs[len(idx)][(Ellipsis,) + idx]

    js = _rs(derivs[0], derivative, counts, right, left, 0.0, method)
    out = []
    for n, level in enumerate(sorted_indices, start=1):
        values = jnp.stack([js[tuple(idx.count(i) for i in range(k))] for idx in level], axis=-1)
        position = {idx: p for p, idx in enumerate(level)}
        gather = np.array([position[tuple(sorted(full))] for full in itertools.product(range(k), repeat=n)])
        tensor = jnp.take(values, jnp.asarray(gather), axis=-1).reshape(values.shape[:-1] + (k,) * n)
        out.append(jnp.real(tensor) if jnp.iscomplexobj(tensor) else tensor)
    return tuple(out)


def _steady_right(derivs, trace):
    """(|0>>, <<1|) of a trace-preserving L0 = derivs[0]: the default trace functional (vec(identity))
    and the checks of :func:`cumulants` (finite derivatives, finite and trace-preserving L0)."""
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
        for n, D in enumerate(derivs[1:], start=1):
            derivs[n] = check_finite(D, f"generator derivative d^{n}L/dlam^{n}")
    right = null_vector(derivs[0], trace, name="generator(0)", validate=validation_enabled(), what=what)
    return right, trace
