"""Spectrum, transitions, generator and steady-state solve of the multi-cell battery (paper 001): the
functions behind :class:`qbjax.models.MultiCellBattery`'s ``energies``, ``transitions``, ``rates``,
``lowering_operators``, ``jump_ops``, ``liouvillian``, ``bath_dissipators`` and ``summary``.  The physics
is in :mod:`qbjax.models.multi_cell`; the choice between the two steady-state solvers (field ``steady``)
in :mod:`qbjax.models._multi_cell_pauli`.

Each function takes the model ``m`` (one configuration).  Degenerate points (level crossings, several
closed classes of the rate network) are flagged with static shapes; with ``degenerate="raise"`` the flags
become ``eqx.error_if`` (traced parameters), with ``"nan"`` the regular stand-in generator -identity is
solved there and every output is replaced by NaN (``_guard``, ``_nan_where`` of
:mod:`qbjax.models._multi_cell_tables`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._ergotropy import energy as _energy
from .._ergotropy import ergotropy as _ergotropy
from .._steady import steady_state as _steady_state
from .._superop import commutator_superop as _commutator_superop
from .._superop import dissipator as _dissipator
from .._superop import vec
from .._thermal import bose_einstein
from .._validate import is_concrete
from . import _multi_cell_pauli as _pauli
from ._multi_cell_tables import (_closed_classes, _degenerate_dispatch, _guard, _nan_where,
                                 _numpy_bohr, _population_block, _structure)


def energies(m, omega, c):
    """E_k = sum_i (w_i/2) z_ki + sum_{i<j} (lam_ij/2) z_ki z_kj, (2^n,), for the parameters given."""
    z, _, _ = _structure(m.n_cells)
    z = jnp.asarray(z, dtype=omega.dtype)
    pair = jnp.triu(c, 1)  # each pair i < j once
    return 0.5 * z @ omega + 0.5 * jnp.einsum("ki,ij,kj->k", z, pair, z)


def transitions(m, E):
    """The transition table of :meth:`qbjax.models.MultiCellBattery.transitions` for the energies ``E``."""
    _, up, down = _structure(m.n_cells)
    signed = E[up] - E[down]  # (n, P)
    w = jnp.abs(signed)
    high = jnp.where(signed >= 0, up, down)
    low = jnp.where(signed >= 0, down, up)
    tol = m.secular_tol
    valid = w > tol
    group = (jnp.abs(w[:, :, None] - w[:, None, :]) <= tol) & valid[:, :, None] & valid[:, None, :]
    P = w.shape[-1]
    earlier = jnp.tril(jnp.ones((P, P), dtype=bool), -1)  # q < p
    leader = valid & ~jnp.any(group & earlier, axis=-1)
    return {"w": w, "high": high, "low": low, "valid": valid, "leader": leader, "group": group}


def rates(tr, T, kappa):
    """(emission J (1 + n), absorption J n), (n, P) each, nonzero on the secular leaders only."""
    w_safe = jnp.where(tr["valid"], tr["w"], 1.0)  # bose_einstein needs omega > 0
    nbar = bose_einstein(w_safe, T[:, None])
    J = kappa * w_safe
    on = tr["leader"]
    return jnp.where(on, J * (1.0 + nbar), 0.0), jnp.where(on, J * nbar, 0.0)


def lowering(m, tr):
    """A_i(w) (n, P, d, d): the group sum on each leader, zero elsewhere."""
    d = m.dim
    dtype = jnp.result_type(float)
    single = jax.nn.one_hot(tr["low"], d, dtype=dtype)[..., :, None] * jax.nn.one_hot(
        tr["high"], d, dtype=dtype
    )[..., None, :]  # |low_q><high_q| = |low><low| sx_i |high><high|, (n, P, d, d)
    grouped = jnp.einsum("ipq,iqab->ipab", tr["group"].astype(dtype), single)
    return grouped * tr["leader"][..., None, None].astype(dtype)


def dissipators(m, tr):
    """A_i(w) (n, P, d, d) and the unit dissipators D[A_i(w)], D[A_i(w)^dag] (n, 2P, d^2, d^2)."""
    A = lowering(m, tr)
    return A, _dissipator(jnp.concatenate([A, jnp.swapaxes(A, -1, -2)], axis=1))


def parts(m):
    """One validated pass: H (complex), transitions, the (emission,
    absorption) rates (n, P) each, the lowering operators A_i(w) (n, P, d, d) and the unit
    dissipators D[A_i(w)], D[A_i(w)^dag] (n, 2P, d^2, d^2) from the core's ``dissipator``.  A_i(w)
    is real, so the dissipators are built in real arithmetic; they depend on omega and coupling
    only, so under ``vmap`` over temperatures they are built once and only the rates are batched."""
    omega, c, T, kappa = m._params()
    E = energies(m, omega, c)
    tr = transitions(m, E)
    A, D = dissipators(m, tr)
    return diag_complex(E), tr, rates(tr, T, kappa), A, D


def diag_complex(x):
    """diag(x) as a complex (d, d) matrix."""
    return jnp.diag(x).astype(jnp.result_type(complex))


def flat_parts(m):
    """(H, rates (n, 2P), dissipators (n, 2P, d^2, d^2)) of one configuration."""
    H, _, (down, up), _, D = parts(m)
    return H, jnp.concatenate([down, up], axis=1), D


def assemble(H, rates, D):
    """-i[H, .] + sum_ik rates_ik D_ik: the (d^2, d^2) Liouvillian, linear in the rates."""
    diss = jnp.einsum("ik,ikab->ab", rates, D)
    return _commutator_superop(H) + diss.astype(H.dtype)


def jump_ops(m):
    """(n 2^n, d, d) complex: per bath sqrt(J(1 + n)) A_i(w), then sqrt(J n) A_i(w)^dag."""
    _, _, (down, up), A, _ = parts(m)

    def safe_sqrt(r):  # sqrt'(0) = inf would give 0 * inf = NaN gradients where a rate is 0
        pos = r > 0
        return jnp.where(pos, jnp.sqrt(jnp.where(pos, r, 1.0)), 0.0)

    Ad = jnp.swapaxes(A, -1, -2)
    ops = jnp.concatenate([safe_sqrt(down)[..., None, None] * A, safe_sqrt(up)[..., None, None] * Ad], axis=1)
    return ops.reshape((-1,) + ops.shape[-2:]).astype(jnp.result_type(complex))


def steady_path(m) -> str:
    """Which steady-state solver :func:`summary` runs (:mod:`._multi_cell_pauli`, "Choice of the solver"):
    ``steady`` unless it is "auto"; for "auto" with concrete ``omega`` and ``coupling`` (also when only
    T and kappa are traced, e.g. a vmap over temperatures) "liouvillian" at a level crossing, else
    "pauli"; "auto" when they are traced (then a ``lax.cond`` on the crossing flag decides)."""
    if m.steady != "auto" or not is_concrete((m.omega, m.coupling)):
        return m.steady
    w = np.abs(_numpy_bohr(np.asarray(m.omega), np.asarray(m.coupling), m.n_cells))
    return "liouvillian" if bool(np.any(w <= m.secular_tol)) else "pauli"


def summary(m, degenerate: str = "raise"):
    """The method :meth:`qbjax.models.MultiCellBattery.summary` (see there)."""
    path = steady_path(m)
    return _degenerate_dispatch(m, degenerate, lambda d: solve(m, d, path))


@eqx.filter_jit
def solve(m, degenerate: str, path: str):
    """Solve + observables of the steady state, plus the flags (level crossing, closed classes).

    ``path``: "pauli", "liouvillian" or "auto" (``lax.cond``: the Liouvillian where the traced
    parameters sit at a level crossing).  "raise": ``eqx.error_if`` on either flag (traced
    parameters).  "nan": where a flag is set the regular stand-in generator -identity is solved
    (unique steady state) and every output is replaced by NaN, so vmapped scans through such points
    neither raise nor return an arbitrary vector.
    """
    omega, c, T, kappa = m._params()
    E = energies(m, omega, c)
    tr = transitions(m, E)
    r = rates(tr, T, kappa)
    crossing = ~jnp.all(tr["valid"])
    pauli = lambda: _pauli_summary(m, E, tr, r, crossing, degenerate)
    full = lambda: _liouvillian_summary(m, E, tr, r, crossing, degenerate)
    if path == "auto":
        return jax.lax.cond(crossing, full, pauli)
    return pauli() if path == "pauli" else full()


def _pauli_summary(m, E, tr, rates, crossing, degenerate):
    """The populations' rate equation W p = 0 (2^n x 2^n, :mod:`._multi_cell_pauli`); rho = diag(p)."""
    n = m.n_cells
    r = _pauli.pair_rates(tr, rates, n)
    W = _pauli.rate_matrix(r, n)
    n_classes = _closed_classes(W)
    W, bad = _guard(W, crossing, n_classes, degenerate)
    p = _pauli.populations(W)
    energy, ergotropy, J = _pauli.observables(E, p, r, n)
    out = {"rho": diag_complex(p), "populations": p, "energy": energy, "ergotropy": ergotropy,
           "heat_currents": J}
    return _nan_where(out, bad, degenerate), crossing, n_classes


def _liouvillian_summary(m, E, tr, rates, crossing, degenerate):
    """The full (4^n, 4^n) Liouvillian through the core's ``steady_state``."""
    H = diag_complex(E)
    _, D = dissipators(m, tr)
    rates = jnp.concatenate(rates, axis=1)
    L = assemble(H, rates, D)
    n_classes = _closed_classes(_population_block(L, m.dim))
    L, bad = _guard(L, crossing, n_classes, degenerate)
    rho = _steady_state(L, validate=False)  # the model's own generator (features: no host callback)
    # heat currents J_i = Tr(H D_i[rho]) = sum_k rate_ik Tr(H D[A_ik] rho) (real D, real H)
    dE = jnp.einsum("ikab,b->ika", D, vec(rho))  # D[A_ik] rho, vectorised
    HdE = jnp.einsum("ika,a->ik", dE, vec(H.T))  # Tr(H X) = sum_ab H_ba X_ab
    J = jnp.real(jnp.einsum("ik,ik->i", rates, HdE))
    out = {
        "rho": rho,
        "populations": jnp.real(jnp.diagonal(rho)),
        "energy": _energy(rho, H, validate=False),
        "ergotropy": _ergotropy(rho, H, validate=False),
        "heat_currents": J,
    }
    return _nan_where(out, bad, degenerate), crossing, n_classes
