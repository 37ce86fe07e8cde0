"""Steady states by a linear solve with the trace constraint (no eigensolver).

For a generator G (n x n) with a trace functional t (t^T G = 0), the steady state x solves

    G x = 0,    t^T x = 1.

Because t^T G = 0, the row i of G with t_i != 0 is a linear combination of the others; replacing it by
t^T and the right-hand side by e_i gives a square, generically non-singular system.  This is one LU
solve: batched (leading dimensions), GPU friendly and differentiable.  Small systems (n <= 8: the
generators of qubits, qutrits and the four-level battery) use the unrolled batch-last elimination
of :mod:`qbjax._linalg`, larger ones LAPACK.  A non-unique steady state makes the system singular; the result is
then non-finite and an error is raised (``eqx.error_if`` inside ``jit``).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._interop import accepts_qobj
from ._validate import check_generator, check_square, is_concrete, validation_enabled
from ._linalg import _nonzero, _rows, choose, lu, lu_entries, lu_solve, max_abs_entries, solve_entries
from ._superop import trace_vector, unvec


def null_vector(G, t, *, row: int | None = None, name: str = "generator", validate: bool = True,
                what: str = "the given trace functional", method: str = "auto"):
    """Solve G x = 0 with t^T x = 1 for generators G of shape (..., n, n) and t of shape (n,).

    ``row`` is the equation replaced by the constraint (default: the first index where t != 0).  The
    system is solved after dividing G by max|G| (a steady state does not depend on the overall rate
    scale, so ``null_vector(c G, t) == null_vector(G, t)`` for every representable c > 0).  With
    ``validate`` (default), G must be finite and trace preserving (max|t^T G| <= 1e-6 max|G|): a NaN in
    the replaced row would otherwise vanish from the result.  A non-unique null vector raises (see the
    module docstring), or, with validation switched off (``qb.set_validation(False)``), gives NaN
    for the singular members (no host callback in the program).  ``name`` and ``what`` name G and t
    in the messages.  ``method``: the linear
    solver, ``"auto"`` (the unrolled elimination of :mod:`qbjax._linalg` for n <= 8, LAPACK above),
    ``"unrolled"`` or ``"lapack"``.
    """
    G = check_square(jnp.asarray(G), name)
    t = jnp.asarray(t)
    n = G.shape[-1]
    if t.shape != (n,):
        raise ValueError(f"trace functional must have shape ({n},); got {t.shape}")
    if validate:
        G = check_generator(G, name, trace=t, what=what)
    if row is None:
        row = int(np.argmax(np.abs(np.asarray(t)) > 0)) if is_concrete(t) else 0
    if choose(n, method) == "unrolled":
        x, singular = _bordered_null(_rows(G), t, row)
        x = jnp.stack(x, axis=-1)
        if not validation_enabled():
            return x
    else:
        dtype = jnp.result_type(G.dtype, t.dtype)
        scale = jax.lax.stop_gradient(jnp.abs(G).max(axis=(-1, -2)))  # the solution does not depend on it
        scale = jnp.where(scale > 0, scale, 1.0)[..., None, None]
        A = (G / scale).astype(dtype).at[..., row, :].set(t.astype(dtype))
        b = jnp.zeros(G.shape[:-1], dtype=dtype).at[..., row].set(1.0)
        fact = lu(A, "lapack")
        x = lu_solve(fact, b)
        singular = _singular(fact.pivots_abs.min(axis=-1), _max_abs_bound(t), n, dtype)
    return _flag_singular(x, singular[..., None], name)


def _flag_singular(x, singular, name: str):
    """x (an array or a list of arrays, each broadcasting with ``singular``) where the system is
    regular; NaN where it is singular when validation is off (no host callback), else an error."""
    if not validation_enabled():  # no host callback: a singular member is NaN, not an error
        return jax.tree.map(lambda v: jnp.where(singular, jnp.nan, v), x)
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(x)]))
    return eqx.error_if(x, jnp.any(singular) | ~finite,
                        f"steady state: singular system ({name} has no unique steady state)")


def _singular(min_pivot, max_abs, n: int, dtype):
    # A non-unique steady state makes A singular; in floating point (e.g. a degenerate generator
    # written in a rotated basis) partial-pivoting LU then shows a pivot at round-off level instead
    # of an exact zero, and the solve returns a finite but arbitrary vector.  Flag pivots below
    # 64 n eps max|A| (unique steady states of physical generators sit many orders above).
    eps = jnp.finfo(jnp.real(jnp.zeros((), dtype)).dtype).eps
    return min_pivot <= 64 * n * eps * max_abs


def _max_abs_bound(t):
    """max(1, max|t|): a bound on max|A_ij| of the system (the rows of G / max|G| are at most 1 in
    modulus), used as the scale of the pivot test.  (The exact max|A| costs a second pass over the
    matrix that XLA's CPU fusion turned into a 2x slower batched 5x5 null vector.)"""
    return jnp.maximum(1.0, jnp.max(jnp.abs(t)))


def null_vector_entries(G, t, *, row: int | None = None, name: str = "generator") -> list:
    """:func:`null_vector` for a generator given as an n x n nested list of arrays (the entries
    broadcast to the batch shape; see :func:`qbjax._linalg.lu_entries`), by the unrolled
    elimination, without the input checks: returns x as a list of n arrays.

    The same system as :func:`null_vector` (G divided by max|G_ij|, the row ``row`` replaced by t^T,
    the same pivoting), so the two give the same numbers; a model that assembles its generator entry
    by entry calls this and never stacks the matrix.  A singular member raises, or is NaN with
    validation off, as in :func:`null_vector`.
    """
    x, singular = _bordered_null(G, t, row)
    return x if not validation_enabled() else _flag_singular(x, singular, name)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _bordered_null(G, t, row):
    """(x, singular) of :func:`bordered_entries` with ``border="replace"``, differentiated implicitly.

    With A = G / s, its row ``row`` replaced by t^T, and A x = e_row, the tangent is
    dx = -A^{-1} (dA) x (s is held constant: x does not depend on it), one more solve with the
    factors already computed.  Differentiating through the unrolled elimination instead gives the
    same numbers but a program whose reverse pass takes XLA several times longer to compile
    (measured: the first call of a three-cell steady-ergotropy gradient, 69.5 s -> 14.9 s).
    """
    return tuple(bordered_entries(G, t, row, border="replace")[:2])


@_bordered_null.defjvp
def _bordered_null_jvp(row, primals, tangents):
    G, t = primals
    dG, dt = tangents
    x, singular, fact, scale, _ = bordered_entries(G, t, row, border="replace")
    n = len(x)
    dA = [[dG[i][j] / scale for j in range(n)] for i in range(n)]
    dA[row] = [dt[j] for j in range(n)]
    rhs = [-sum((dA[i][j] * x[j] for j in range(1, n)), dA[i][0] * x[0]) for i in range(n)]
    dx = solve_entries(fact, rhs)
    return (x, singular), (dx, np.zeros(jnp.shape(singular), dtype=jax.dtypes.float0))


def bordered_entries(G, t, row, *, border: str):
    """The bordered system of a generator with a trace functional, as entry lists, and its solve.

    With s = max|G_ij| and t_row != 0 (``row=None``: the first such index), A is G / s with its row
    ``row`` replaced by t^T (``border="replace"``, :func:`null_vector`) or with t^T added to that row
    (``border="add"``, A = G / s + e_row t^T).  Either A is regular exactly when G has a unique null
    vector, and x = A^{-1} e_row then solves G x = 0 with t.x = 1.  Returns (x as a list of arrays,
    singular flags, the factorisation of A, s, t as a list of scalars); with validation off x is NaN
    where A is singular (the NaN enters through the right-hand side, which every component depends
    on).  The pivot test scales with a bound on max|A_ij|: max(1, max|t|) or 1 + max|t|.
    """
    n = len(G)
    t = jnp.asarray(t)
    if t.shape != (n,):
        raise ValueError(f"trace functional must have shape ({n},); got {t.shape}")
    if row is None:
        row = int(np.argmax(np.abs(np.asarray(t)) > 0)) if is_concrete(t) else 0
    dtype = jnp.result_type(*(jnp.result_type(e) for r in G for e in r), t.dtype)
    scale = jax.lax.stop_gradient(max_abs_entries(G))  # the solution does not depend on it
    scale = jnp.where(scale > 0, scale, 1.0)
    tl = [t[j].astype(dtype) for j in range(n)]
    A = [[(e / scale).astype(dtype) for e in r] for r in G]
    if border == "replace":
        A[row] = tl
        bound = _max_abs_bound(t)
    elif border == "add":
        A[row] = [a + b for a, b in zip(A[row], tl)]
        bound = 1.0 + jnp.max(jnp.abs(t))
    else:
        raise ValueError(f"border must be 'replace' or 'add'; got {border!r}")
    fact = lu_entries(A)
    singular = _singular(fact.min_pivot, bound, n, dtype)
    zero = jnp.zeros_like(scale, dtype=dtype)
    one = jnp.where(singular, jnp.nan, 1.0).astype(dtype) if not validation_enabled() else zero + 1
    x = solve_entries(fact, [one if i == row else zero for i in range(n)])
    return x, singular, fact, scale, tl


def eigen_triple_entries(A, t, s, *, row: int = 0):
    """(s1, right, left, singular) for the eigenvalue of an entry-list matrix A (n x n nested list of
    arrays, real or complex) near the estimate ``s``, without an eigensolver.

    The bordered system of :func:`null_vector_entries` at s: B(s) = (A - s) / max|A_ij| with the row
    ``row`` replaced by t^T, x(s) = B(s)^-1 e_row.  The dropped row gives the residual
    f(s) = [(A - s) x(s)]_row / max|A_ij| = det(A - s) / (max|A_ij|^n det B(s)) (Cramer's rule), which
    vanishes at the eigenvalue; one Newton step s1 = s - f / f' with
    f' = (-x_row + [(A - s) x']_row) / max|A_ij|, x' = B^-1 (x with x_row -> 0) / max|A_ij| (the same
    factorisation), refines the estimate to the matrix's own round-off (quadratic convergence; the
    derivative of s1 is the implicit one, -df/f', with s held constant).  Then at s1

        right = B(s1)^-1 e_row  (t . right = 1),    left = C^-1 e_row  (left . right = 1),

    C = (A - s1)^T / max|A_ij| with the row ``row`` replaced by right^T: the system of
    :func:`null_vector` for the transpose with right as its constraint, well conditioned also where
    right is large (t nearly orthogonal to the eigenvector), unlike a solve with B^T.  ``singular``:
    a pivot of B(s1) below
    the test of :func:`null_vector` (t . right = 0 for every eigenvector, or a degenerate eigenvalue).
    One step suffices where the estimate lies well inside the gap to the next root of f (a root of
    det(A - s) whose eigenvector has t . v = 0, e.g. the four-level mode e1 - e2, is no root of f); for
    a cluster closer than the estimate's error the result is only as good as that error.
    """
    n = len(A)
    t = jnp.asarray(t)
    if t.shape != (n,):
        raise ValueError(f"trace functional must have shape ({n},); got {t.shape}")
    dtype = jnp.result_type(*(jnp.result_type(e) for r in A for e in r), t.dtype, s)
    s = jax.lax.stop_gradient(jnp.asarray(s, dtype))
    scale = jax.lax.stop_gradient(max_abs_entries(A))
    scale = jnp.where(scale > 0, scale, 1.0)
    zero = jnp.zeros_like(s)
    tt = [t[j].astype(dtype) + zero for j in range(n)]
    e = [zero + 1 if i == row else zero for i in range(n)]

    def system(s):
        M = [[((A[i][j] - s) if i == j else A[i][j]) / scale + zero for j in range(n)] for i in range(n)]
        B = [list(r) for r in M]
        B[row] = tt
        return M, lu_entries(B)

    M, fact = system(s)
    x = solve_entries(fact, e)
    dx = solve_entries(fact, [zero if i == row else x[i] / scale for i in range(n)])
    f = sum(M[row][j] * x[j] for j in range(n))
    fp = -x[row] / scale + sum(M[row][j] * dx[j] for j in range(n))
    s1 = s - f / _nonzero(fp)
    M, fact = system(s1)
    right = solve_entries(fact, e)
    C = [[M[j][i] for j in range(n)] for i in range(n)]  # M^T with the row `row` replaced by right
    C[row] = right
    left = solve_entries(lu_entries(C), e)
    singular = _singular(fact.min_pivot, _max_abs_bound(t), n, dtype)
    return s1, right, left, singular


@accepts_qobj
def steady_state(L, *, validate: bool = True, method: str = "auto"):
    """Steady state rho_ss (..., d, d) of a Lindblad superoperator L (..., d^2, d^2): L vec(rho_ss) = 0.

    Returns a Hermitian, unit-trace density matrix (Hermitian part taken to remove round-off).  L
    must be finite and trace preserving (``ValueError`` naming L; ``eqx.error_if`` when traced;
    ``validate=False`` skips these checks), and its steady state unique (otherwise an error:
    "singular system").  Invariant under L -> c L for any representable c > 0.  ``method``: the
    linear solver (see :func:`null_vector`; "auto" is unrolled for d^2 <= 8, i.e. a qubit).

    Vectorisation convention: L acts on qbjax's row-major vec(rho) = rho.reshape(d * d).  A QuTiP
    ``Qobj`` superoperator (superrep "super") is accepted and converted (:func:`qbjax.from_qutip`);
    a raw array from ``qutip_L.full()`` is in QuTiP's column-stacking convention, which cannot be
    detected: its "steady state" is the transpose of the true one (a valid state, so no check
    fails), and a generator that mixes the two conventions need not even be completely positive.
    Convert QuTiP superoperators with :func:`qbjax.from_qutip`.
    """
    L = check_square(jnp.asarray(L), "L")
    n = L.shape[-1]
    d = int(round(n**0.5))
    if d * d != n:
        raise ValueError(f"L must be a (d^2, d^2) superoperator; got shape {L.shape}")
    x = null_vector(L, trace_vector(d, dtype=jnp.result_type(L.dtype, complex)), row=0, name="L",
                    validate=validate and validation_enabled(), what="vec(identity)", method=method)
    rho = unvec(x, d)
    return 0.5 * (rho + jnp.conj(jnp.swapaxes(rho, -1, -2)))
