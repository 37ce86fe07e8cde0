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

import math
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


# ---------------------------------------------------------------------------------------------
# the eigenvalue with the largest real part of a small real matrix, without LAPACK's geev
# ---------------------------------------------------------------------------------------------


def charpoly_entries(rows) -> list:
    """Coefficients c of det(x I - A) = x^n + c[n-1] x^(n-1) + ... + c[0] for an entry-list A.

    Faddeev-LeVerrier (Faddeev and Sominsky, *Problems in Higher Algebra*, 1949): M_1 = I and
    c[n-k] = -tr(A M_k) / k,  M_(k+1) = A M_k + c[n-k] I  (k = 1..n): n - 2 products of n x n
    entry lists (the last step needs only a trace).  Exact in exact arithmetic; in floating point the
    coefficients carry errors of order eps max|A|^k, so the roots found from them are starting values
    that a caller refines on the matrix itself (:func:`qbjax._steady.eigen_triple_entries`).
    """
    n = len(rows)
    c = [None] * n
    AM = [list(r) for r in rows]  # A M_1
    for k in range(1, n + 1):
        c[n - k] = -sum(AM[i][i] for i in range(n)) / k
        if k == n:
            break
        M = [[AM[i][j] + c[n - k] if i == j else AM[i][j] for j in range(n)] for i in range(n)]
        if k == n - 1:  # only tr(A M_n) is needed
            tr = sum(rows[i][j] * M[j][i] for i in range(n) for j in range(n))
            c[0] = -tr / n
            break
        M = jax.lax.optimization_barrier(M)  # else XLA's fusion recomputes M in every product entry
        AM = [[sum(rows[i][l] * M[l][j] for l in range(n)) for j in range(n)] for i in range(n)]
    return c


def polynomial_value(c, x):
    """(p(x), p'(x)) for the monic p(x) = x^n + sum_k c[k] x^k (Horner's scheme)."""
    p, d = jnp.ones_like(x), jnp.zeros_like(x)
    for ck in reversed(c):
        d = d * x + p
        p = p * x + ck
    return p, d


def _taylor_shift(c, r) -> list:
    """Coefficients (ascending, monic, length n + 1) of p(x + r): repeated synthetic division."""
    a = list(c) + [jnp.ones_like(r)]
    n = len(c)
    for i in range(n):
        for j in range(n - 1, i - 1, -1):
            a[j] = a[j] + r * a[j + 1]
    return a


def hurwitz_stable(a):
    """True where every root of the polynomial with ascending coefficients ``a`` (a[-1] > 0) has a
    negative real part: the Routh-Hurwitz criterion (Routh, *A Treatise on the Stability of a Given
    State of Motion*, 1877), all entries of the first column of the Routh array positive."""
    d = list(reversed(a))  # descending
    prev, cur = d[0::2], d[1::2]
    ok = d[0] > 0
    while cur:
        ok = ok & (cur[0] > 0)
        piv = _nonzero(cur[0])
        nxt = [(cur[0] * (prev[j + 1] if j + 1 < len(prev) else 0.0)
                - prev[0] * (cur[j + 1] if j + 1 < len(cur) else 0.0)) / piv
               for j in range(max(len(prev) - 1, 0))]
        prev, cur = cur, nxt
    return ok


def gershgorin_right(rows):
    """An upper bound on the real parts of the eigenvalues: min over rows and columns of
    max_i (A_ii + sum_(j != i) |A_ij|) (Gershgorin's theorem for A and A^T)."""
    n = len(rows)
    row = col = None
    for i in range(n):
        ri = rows[i][i] + sum(jnp.abs(rows[i][j]) for j in range(n) if j != i)
        ci = rows[i][i] + sum(jnp.abs(rows[j][i]) for j in range(n) if j != i)
        row = ri if row is None else jnp.maximum(row, ri)
        col = ci if col is None else jnp.maximum(col, ci)
    return jnp.minimum(row, col)


def dominant_real_eigenvalue_entries(rows, iterations: int = 40):
    """(r, dominant): the largest real eigenvalue r of a real entry-list matrix A and whether it is
    the eigenvalue with the largest real part (no complex pair at or right of it).

    r is the root of the characteristic polynomial p (:func:`charpoly_entries`, of A / max|A_ij|)
    reached by Newton's method from the Gershgorin bound x0 >= Re(lambda) (:func:`gershgorin_right`):
    when every root z has Re z <= r, p'/p = sum 1 / (x - z) has a positive real part for x > r and
    each step x - p/p' stays in (r, x), so the iteration decreases monotonically to r.  The check is
    the Routh-Hurwitz criterion (:func:`hurwitz_stable`) on the deflated, shifted polynomial
    p(x + r) / x, whose roots are the other eigenvalues minus r; ``dominant`` is False where it fails
    or Newton did not converge (a complex pair lies further right: see
    :func:`dominant_eigenvalue_entries`).  r is accurate to the polynomial's conditioning (about
    eps / gap for a gap to the next eigenvalue): refine it on the matrix.  No gradient (a starting
    value: the refinement carries the derivative).
    """
    rows = jax.lax.stop_gradient(rows)
    scale = max_abs_entries(rows)
    scale = jnp.where(scale > 0, scale, 1.0)
    A = [[e / scale for e in r] for r in rows]
    c = charpoly_entries(A)
    c = [jax.lax.optimization_barrier(ck) for ck in c]

    def newton(_, x):
        p, d = polynomial_value(c, x)
        return jnp.minimum(x, x - jnp.where(d > 0, p / _nonzero(d), 0.0))  # never to the right

    x = jax.lax.fori_loop(0, iterations, newton, gershgorin_right(A))
    p, d = polynomial_value(c, x)
    converged = jnp.abs(p) <= 1e-8 * jnp.maximum(jnp.abs(d), 1e-300)
    a = _taylor_shift(c, x)
    dominant = converged & hurwitz_stable(a[1:])
    return x * scale, dominant


def _cdiv(a, b, c, d):
    """(a + ib) / (c + id) as a real pair (the textbook formula: the arguments here are O(1); a zero
    divisor gives 0)."""
    den = c * c + d * d
    inv = 1.0 / jnp.where(den == 0, 1.0, den)
    return (a * c + b * d) * inv, (b * c - a * d) * inv


def polynomial_roots(c, iterations: int = 16):
    """All n roots (as real pairs (Re, Im)) of the monic real polynomial x^n + sum_k c[k] x^k by the
    Aberth-Ehrlich method (Aberth, Math. Comp. 27, 339 (1973); Ehrlich, Commun. ACM 10, 107 (1967))
    in its Gauss-Seidel form, z_k <- z_k - w / (1 - w sum_(j != k) 1 / (z_k - z_j)),
    w = p(z_k) / p'(z_k), from n points on a circle about the centroid -c[n-1]/n of radius
    1 + 2 max_k |c[n-k]|^(1/k) (Fujiwara's bound); a fixed number of steps (cubic convergence for
    simple roots).  Real arithmetic on (Re, Im) pairs, which XLA fuses better than complex division."""
    n = len(c)
    center = -c[n - 1] / n
    radius = None
    for k in range(1, n + 1):
        b = jnp.abs(c[n - k]) ** (1.0 / k)
        radius = b if radius is None else jnp.maximum(radius, b)
    radius = 2 * radius + 1.0
    ang = [2 * math.pi * k / n + 0.4 for k in range(n)]
    z = tuple((center + radius * math.cos(t), radius * math.sin(t) + jnp.zeros_like(center)) for t in ang)

    def sweep(_, z):
        z = list(z)
        for k in range(n):
            x, y = z[k]
            pr, pi, dr, di = jnp.ones_like(x), jnp.zeros_like(x), jnp.zeros_like(x), jnp.zeros_like(x)
            for ck in reversed(c):  # Horner: d = d z + p, p = p z + c_k
                dr, di = dr * x - di * y + pr, dr * y + di * x + pi
                pr, pi = pr * x - pi * y + ck, pr * y + pi * x
            wr, wi = _cdiv(pr, pi, dr, di)
            sr, si = jnp.zeros_like(x), jnp.zeros_like(x)
            for j in range(n):
                if j != k:
                    ar, ai = _cdiv(1.0, 0.0, x - z[j][0], y - z[j][1])
                    sr, si = sr + ar, si + ai
            qr, qi = _cdiv(wr, wi, 1.0 - (wr * sr - wi * si), -(wr * si + wi * sr))
            z[k] = (x - qr, y - qi)
        return tuple(z)

    return list(jax.lax.fori_loop(0, iterations, sweep, z))


def dominant_eigenvalue_entries(rows, iterations: int = 16):
    """The eigenvalue s0 of a real entry-list matrix with the largest real part, complex, with
    Im s0 >= 0 for a complex pair (s0 = Re + i |Im|): the roots of the characteristic polynomial
    (:func:`charpoly_entries` of A / max|A_ij|) by :func:`polynomial_roots`.  Elementwise over the
    batch, no LAPACK; accurate to the polynomial's conditioning, a starting value for a refinement
    on the matrix (:func:`qbjax._steady.eigen_triple_entries`).  No gradient."""
    rows = jax.lax.stop_gradient(rows)
    scale = max_abs_entries(rows)
    scale = jnp.where(scale > 0, scale, 1.0)
    z = polynomial_roots(charpoly_entries([[e / scale for e in r] for r in rows]), iterations)
    re, im = z[0]
    for zr, zi in z[1:]:
        better = zr > re
        re, im = jnp.where(better, zr, re), jnp.where(better, zi, im)
    return (re + 1j * jnp.abs(im)) * scale
