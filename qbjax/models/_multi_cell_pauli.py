"""The population (Pauli) rate equation of the multi-cell battery (paper 001): the steady state from a
2^n x 2^n rate matrix instead of the 4^n x 4^n Liouvillian.  The physics is in :mod:`qbjax.models.multi_cell`.

Why it is exact.  H_S is diagonal in the computational basis and every jump operator is a secular group
A_i(w) = sum_q |low_q><high_q| of single flips of spin i.  The pairs (up_i, down_i) of one bath are
disjoint (each basis state lies in exactly one), so no two members of a group share a state, and

    A rho A^dag  maps |a><b| to |low(a)><low(b)| (a != b stays off-diagonal),   A^dag A is diagonal,

(likewise for A^dag).  The Liouvillian therefore never feeds coherences from populations nor
populations from coherences - for equal Bohr frequencies (grouped operators, e.g. equal cells) as well
- and the populations obey the classical rate equation dp/dt = W p on their own:

    W[k, l] = rate of the jumps l -> k (k != l),   W[l, l] = -sum_k W[k, l],

each member of a secular group carrying its leader's rate.  Where the steady state is unique it is
diag(p) with W p = 0, sum p = 1.  This fails only where two levels joined by a bath transition are
degenerate (Bohr frequency <= secular_tol, the level crossings): there a population can mix with their
coherence and the model keeps the full Liouvillian (:func:`qbjax.models._multi_cell_generator.solve`).

Choice of the solver (field ``steady`` of :class:`qbjax.models.MultiCellBattery`).  ``steady="auto"``
(default) takes the steady state as diag(p) with W p = 0, sum p = 1 (a 2^n x 2^n solve, core
``null_vector``) and switches back to the full 4^n x 4^n Liouvillian (core ``steady_state``) at the level
crossings (the outputs there are NaN or an error on either path: ``degenerate`` of
:meth:`~qbjax.models.MultiCellBattery.steady_state`).  The switch is made in Python when ``omega`` and
``coupling`` are concrete (also inside a ``vmap`` over temperatures only) and by ``lax.cond`` on the
crossing flag when they are traced (a ``vmap`` over couplings then evaluates both branches, at about the
Liouvillian's cost; ``steady="pauli"`` gives the same outputs there, NaN / error at the crossings
included, at the rate equation's).  ``steady="pauli"`` or ``"liouvillian"`` forces one solver; they agree
to round-off (~1e-15).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from .._steady import null_vector as _null_vector
from ._multi_cell_tables import _structure


@functools.cache
def _incidence(n: int):
    """Static (d, d, 2, n, P) array M with W = einsum("abkip,kip->ab", M, r) for the directed pair rates
    r[0] = up_i[p] -> down_i[p] and r[1] = down_i[p] -> up_i[p] (gain on the target, loss on the source)."""
    d = 2**n
    _, up, down = _structure(n)
    M = np.zeros((d, d, 2, n, d // 2))
    for i in range(n):
        for p in range(d // 2):
            for k, (src, dst) in enumerate(((up[i, p], down[i, p]), (down[i, p], up[i, p]))):
                M[dst, src, k, i, p] += 1.0
                M[src, src, k, i, p] -= 1.0
    return M


def pair_rates(tr, rates, n: int):
    """(2, n, P) directed rates of every pair: [0] spin i up -> down, [1] down -> up.

    ``rates`` = (emission, absorption) per (bath, pair), nonzero on the secular leaders only; every member
    q of a group gets its leader's rate (the operator J (1 + n) D[sum_q |low_q><high_q|] moves population
    high_q -> low_q at that rate)."""
    _, up, _ = _structure(n)
    g = tr["group"].astype(rates[0].dtype)
    emit, absorb = (jnp.einsum("ipq,ip->iq", g, r) for r in rates)
    up_high = tr["high"] == up  # spin i up is the upper level of the pair
    return jnp.stack([jnp.where(up_high, emit, absorb), jnp.where(up_high, absorb, emit)])


def rate_matrix(r, n: int):
    """Pauli rate matrix W (d, d) from the directed pair rates (2, n, P) of :func:`pair_rates`."""
    return jnp.einsum("abkip,kip->ab", jnp.asarray(_incidence(n), dtype=r.dtype), r)


def populations(W):
    """p with W p = 0 and sum p = 1 (the core's ``null_vector`` with the trace functional sum p: one LU
    solve of the d x d system whose first equation is replaced by sum p = 1; scale invariant).  A
    non-unique p is excluded by the caller (closed-class count, level crossings)."""
    return _null_vector(W, jnp.ones(W.shape[-1], dtype=W.dtype), validate=False, name="rate matrix W")


def observables(E, p, r, n: int):
    """Energy, ergotropy and heat currents of the diagonal state diag(p) (H_S = diag(E)).

    Ergotropy of a diagonal state w.r.t. a diagonal H: sum p E - sum p_desc E_asc (the eigenvalues of
    diag(p) are p).  Heat current of bath i: sum_p (E_up - E_down) (r_du p_down - r_ud p_up) (> 0:
    energy flows from the bath into the cells)."""
    _, up, down = _structure(n)
    energy = p @ E
    ergotropy = energy - jnp.sort(p)[::-1] @ jnp.sort(E)
    J = jnp.sum((E[up] - E[down]) * (r[1] * p[down] - r[0] * p[up]), axis=-1)
    return energy, ergotropy, J
