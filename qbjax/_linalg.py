"""Small dense linear systems without LAPACK: unrolled Gaussian elimination on batch-last arrays.

For a batch of B small matrices (n <= ``SMALL_MAX`` = 8), a LAPACK call per matrix costs far more
than the arithmetic.  Here the matrix is held as n x n entries that are each a (B,) array (the batch
is the LAST axis), and the elimination is unrolled in Python: every step is a handful of elementwise
operations over the whole batch, which XLA fuses and vectorises, on a CPU or a GPU alike.

Pivoting: partial (row) pivoting per batch member.  At step k the row i >= k with the largest
|A[i, k]| becomes the pivot row (ties: the lowest index, as LAPACK's ``getrf``), chosen by ``argmax``
and applied with ``where`` selections, so the program has no data-dependent control flow.  The
pivots are returned; a caller decides what a vanishing pivot means (``qbjax._steady`` raises).

Everything is plain ``jax.numpy``: differentiable in forward and reverse mode (the selections have
zero derivative with respect to the pivot choice, which is piecewise constant), batched over leading
dimensions, real or complex.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

SMALL_MAX = 8
METHODS = ("auto", "unrolled", "lapack")


def choose(n: int, method: str = "auto") -> str:
    """``"unrolled"`` for n <= SMALL_MAX under ``method="auto"``, else ``"lapack"``; checks ``method``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if method == "auto":
        return "unrolled" if n <= SMALL_MAX else "lapack"
    return method


class Factorisation(NamedTuple):
    """P A = L U of a batch of matrices, in one of two layouts (see :func:`lu`)."""

    method: str
    data: tuple
    pivots_abs: jnp.ndarray  # (..., n) |U_kk|


def _rows(A):
    """(..., n, n) -> list of n rows, each a list of n arrays of shape (...)."""
    n = A.shape[-1]
    return [[A[..., i, j] for j in range(n)] for i in range(n)]


def _select(cond, a, b):
    return [jnp.where(cond, x, y) for x, y in zip(a, b)]


def _lu_unrolled(rows):
    """Unrolled partial-pivoting elimination of an n x n nested list of (broadcastable) arrays:
    (U rows, multipliers, pivot choices)."""
    n = len(rows)
    rows = [list(r) for r in rows]
    choices, multipliers = [], []
    for k in range(n - 1):
        mags = jnp.stack(jnp.broadcast_arrays(*(jnp.abs(rows[i][k]) for i in range(k, n))))
        p = jnp.argmax(mags, axis=0)  # (...), offset from k
        pivot = rows[k]
        for i in range(k + 1, n):
            pivot = _select(p == i - k, rows[i], pivot)
        for i in range(k + 1, n):  # the row that gave up its place takes row k's
            rows[i] = _select(p == i - k, rows[k], rows[i])
        rows[k] = pivot
        f = [rows[i][k] / _nonzero(pivot[k]) for i in range(k + 1, n)]
        for i, fi in zip(range(k + 1, n), f):
            rows[i] = [rows[i][j] - fi * pivot[j] if j > k else jnp.zeros_like(rows[i][j]) for j in range(n)]
        choices.append(p)
        multipliers.append(f)
    return rows, multipliers, choices


def _nonzero(x):
    """x where x != 0, else 1 (a vanishing pivot is reported through the pivots, not as inf)."""
    return jnp.where(x == 0, jnp.ones_like(x), x)


def _solve_unrolled(fact, b):
    """Solve with an unrolled factorisation; ``b`` and the result are lists of n arrays."""
    rows, multipliers, choices = fact
    n = len(rows)
    x = list(b)
    for k in range(n - 1):  # the same permutation and elimination on the right-hand side
        p = choices[k]
        xk = x[k]
        for i in range(k + 1, n):
            xk = jnp.where(p == i - k, x[i], xk)
        for i in range(k + 1, n):
            x[i] = jnp.where(p == i - k, x[k], x[i])
        x[k] = xk
        for i, fi in zip(range(k + 1, n), multipliers[k]):
            x[i] = x[i] - fi * xk
    for i in reversed(range(n)):  # back substitution
        s = x[i]
        for j in range(i + 1, n):
            s = s - rows[i][j] * x[j]
        x[i] = s / _nonzero(rows[i][i])
    return x


def lu(A, method: str = "auto") -> Factorisation:
    """Factorise a batch of square matrices (..., n, n) for repeated solves with :func:`lu_solve`.

    ``method``: ``"auto"`` (unrolled for n <= 8, LAPACK ``getrf`` above), ``"unrolled"`` or ``"lapack"``.
    """
    A = jnp.asarray(A)
    n = A.shape[-1]
    method = choose(n, method)
    if method == "lapack":
        lu_, piv = jsl.lu_factor(A)
        return Factorisation("lapack", (lu_, piv), jnp.abs(jnp.diagonal(lu_, axis1=-2, axis2=-1)))
    fact = _lu_unrolled(_rows(A))
    rows = fact[0]
    return Factorisation("unrolled", fact, jnp.stack([jnp.abs(rows[k][k]) for k in range(n)], axis=-1))


def lu_solve(fact: Factorisation, b):
    """Solve A x = b for the factorised A and right-hand sides b (..., n); returns (..., n)."""
    if fact.method == "lapack":
        return jsl.lu_solve(fact.data, b[..., None])[..., 0]
    return jnp.stack(_solve_unrolled(fact.data, [b[..., i] for i in range(b.shape[-1])]), axis=-1)


def solve(A, b, method: str = "auto"):
    """x with A x = b for A (..., n, n) and b (..., n) (one factorisation, one solve)."""
    return lu_solve(lu(A, method), b)


# ---------------------------------------------------------------------------------------------
# entry lists: a matrix as n rows of n arrays that broadcast (the batch-last layout itself)
# ---------------------------------------------------------------------------------------------


class EntryFactorisation(NamedTuple):
    """P A = L U of an entry-list matrix (see :func:`lu_entries`); ``min_pivot``: min_k |U_kk|."""

    data: tuple
    min_pivot: jnp.ndarray


def lu_entries(rows) -> EntryFactorisation:
    """Factorise a matrix given as an n x n nested list of arrays that broadcast to the batch shape.

    This is the unrolled elimination without the stacking into an (..., n, n) array and the strided
    reads back out of it: a model that builds its generator entry by entry (each entry a (B,) array,
    or a scalar under ``jax.vmap``) passes the entries here directly.
    """
    fact = _lu_unrolled(rows)
    u = fact[0]
    piv = jnp.abs(u[0][0])
    for k in range(1, len(u)):
        piv = jnp.minimum(piv, jnp.abs(u[k][k]))
    # Materialise the factors: without the barrier XLA's CPU fusion copies the whole elimination
    # into the fusion of every consumer (each solution component, the pivot check), several times
    # the arithmetic (measured: 10^5 5x5 null vectors 28 -> 12 ms).  No effect on the values.
    return EntryFactorisation(*jax.lax.optimization_barrier((fact, piv)))


def solve_entries(fact: EntryFactorisation, b) -> list:
    """x with A x = b for a factorised entry-list A; ``b`` and x are lists of n arrays."""
    return _solve_unrolled(fact.data, b)


def max_abs_entries(rows):
    """max over the entries of |A_ij| (elementwise over the batch)."""
    out = None
    for row in rows:
        for e in row:
            a = jnp.abs(e)
            out = a if out is None else jnp.maximum(out, a)
    return out


def matvec_entries(rows, v) -> list:
    """A v for an entry-list A whose structural zeros may be ``None`` (skipped); v a list of arrays."""
    out = []
    for row in rows:
        terms = [a * x for a, x in zip(row, v) if a is not None]
        out.append(sum(terms[1:], terms[0]) if terms else jnp.zeros_like(v[0]))
    return out
