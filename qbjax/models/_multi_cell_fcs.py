"""Heat-current counting statistics of the multi-cell battery (paper 001): the joint cumulants of the
energies exchanged with the n baths, the entropy production and the thermodynamic uncertainty ratio.
The physics is in :mod:`qbjax.models.multi_cell`; the method is
:meth:`qbjax.models.MultiCellBattery.heat_current_statistics`.

Tilted generator.  Each jump of bath i moves the system between two levels of one secular pair and
exchanges the Bohr frequency w with that bath: an absorption (A_i(w)^dag) takes +w from the bath, an
emission (A_i(w)) gives it -w.  Counting the energy Q_i taken from bath i with the field lam_i
multiplies each jump term by exp(lam_i dE), dE = E_dst - E_src the energy the system gains,

    L(lam) = L0 + sum_{i, w} [ J(w)(1 + n_i) (e^{-lam_i w} - 1) A rho A^dag
                               + J(w) n_i (e^{+lam_i w} - 1) A^dag rho A ],      A = A_i(w),

so that dS/dlam_i = J_i, the heat current of :meth:`~MultiCellBattery.heat_currents` (positive when
energy flows FROM bath i INTO the system).  The jump terms map populations to populations (see
:mod:`._multi_cell_pauli`), so the eigenvalue of L(lam) connected to 0 is that of the tilted Pauli
rate matrix

    W(lam)[dst, src] = W0[dst, src] e^{lam_i (E_dst - E_src)}       (the jump src -> dst through bath i),

a 2^n x 2^n matrix instead of 4^n x 4^n; its joint cumulants come from the core's
:func:`qbjax.joint_cumulants` recursion (Flindt et al., PRB 82, 155407 (2010)).

Entropy production (k_B = 1): sigma = -sum_i J_i / T_i (>= 0; the steady state has dS_sys/dt = 0).
A bath at T_i = 0 only absorbs energy (its absorption rates vanish), so J_i <= 0 and its term is
+inf where J_i < 0 and 0 where J_i = 0: sigma is then +inf, and so is every TUR ratio with J != 0.
TUR ratio of bath i: Var(J_i) sigma / J_i^2, the variance rate j2_ii; >= 2 for every current of a
Markov jump process obeying local detailed balance (Barato & Seifert, PRL 114, 158101 (2015)), as
these rates do (emission / absorption = e^{w / T_i}).  NaN where J_i = 0 (e.g. equal temperatures).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._fcs import generator_derivatives, joint_from_derivatives
from .._steady import null_vector
from .._validate import as_int
from . import _multi_cell_pauli as _pauli
from ._multi_cell_tables import _closed_classes, _degenerate_dispatch, _guard, _nan_where, _structure


@functools.cache
def _jumps(n: int):
    """Static (d, d, 2, n, P) one-hot array of the jump terms: [dst, src, k, i, p] = 1 for the directed
    jumps of :func:`qbjax.models._multi_cell_pauli.pair_rates` (k = 0: up_i[p] -> down_i[p], 1: back),
    and the (2, n, P) source and destination indices."""
    d = 2**n
    _, up, down = _structure(n)
    src, dst = np.stack([up, down]), np.stack([down, up])
    M = np.zeros((d, d, 2, n, d // 2))
    k, i, p = np.meshgrid(np.arange(2), np.arange(n), np.arange(d // 2), indexing="ij")
    M[dst, src, k, i, p] = 1.0
    return M, src, dst


def tilted_rate_matrix(E, r, n: int, W0=None, off=False):
    """lam (n,) -> W(lam) (d, d): the Pauli rate matrix with e^{lam_i (E_dst - E_src)} on every jump of
    bath i (module docstring).  ``E`` (d,) energies, ``r`` (2, n, P) directed rates (``pair_rates``);
    ``W0`` the untilted matrix (default ``rate_matrix(r, n)``); ``off`` (a flag): no tilt (W0 alone)."""
    M, src, dst = _jumps(n)
    M = jnp.asarray(M, dtype=r.dtype)
    dE = E[dst] - E[src]  # (2, n, P) energy the system gains
    W0 = _pauli.rate_matrix(r, n) if W0 is None else W0

    def generator(lam):
        tilt = jnp.where(off, 0.0, r * jnp.expm1(lam[None, :, None] * dE))
        return W0 + jnp.einsum("abkip,kip->ab", M, tilt)

    return generator


def entropy_production(J, T):
    """sigma = -sum_i J_i / T_i (k_B = 1); a T_i = 0 term is +inf where J_i < 0, else 0."""
    cold = T <= 0
    terms = jnp.where(cold, jnp.where(J < 0, jnp.inf, 0.0), -J / jnp.where(cold, 1.0, T))
    return jnp.sum(terms, axis=-1)


def statistics(m, order: int = 2, degenerate: str = "raise") -> dict:
    """The method :meth:`qbjax.models.MultiCellBattery.heat_current_statistics` (see there)."""
    order = as_int(order, "order", minimum=1)
    order = max(order, 2)  # the TUR needs the variance
    return _degenerate_dispatch(m, degenerate, lambda d: _statistics(m, order, d))


@eqx.filter_jit
def _statistics(m, order: int, degenerate: str):
    omega, c, T, kappa = m._params()
    n = m.n_cells
    E = m._energies(omega, c)
    tr = m._transitions(E)
    r = _pauli.pair_rates(tr, m._rates(tr, T, kappa), n)
    crossing = ~jnp.all(tr["valid"])
    W0 = _pauli.rate_matrix(r, n)
    n_classes = _closed_classes(W0)
    W0g, bad = _guard(W0, crossing, n_classes, degenerate)
    generator = tilted_rate_matrix(E, r, n, W0g, bad)  # the stand-in -identity, untilted, where bad
    derivs = generator_derivatives(generator, order, jnp.zeros(n, dtype=E.dtype))
    # one LU (LAPACK) for the steady state as for the resolvent: the unrolled elimination of
    # _pauli.populations gives the same p but triples the compile time of this program at n = 3
    p = null_vector(derivs[0], jnp.ones(2**n, dtype=E.dtype), validate=False, name="rate matrix W", method="lapack")
    js = joint_from_derivatives(derivs, p, jnp.ones(2**n, dtype=E.dtype))
    J, C = js[0], js[1]
    sigma = entropy_production(J, T)
    out = {"heat_currents": J, "covariance": C, "cumulants": js, "entropy_production": sigma,
           "tur_ratio": jnp.diagonal(C) * sigma / J**2}
    return _nan_where(out, bad, degenerate), crossing, n_classes

