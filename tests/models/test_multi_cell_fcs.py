"""Heat-current counting statistics of MultiCellBattery (``heat_current_statistics``).

References: the model's own ``heat_currents()`` (the steady-state solve, no counting field); energy
conservation (sum_i J_i = 0 in the steady state, so the energy counts of the baths are perfectly
anticorrelated for two cells and the covariance rows sum to 0); the thermodynamic uncertainty
relation Var(J) sigma / J^2 >= 2 (Barato & Seifert, PRL 114, 158101 (2015)); and the NumPy
eigenvalue of the FULL tilted Liouvillian (4^n x 4^n, built here with np.kron from the model's jump
operators and rates, not through the Pauli reduction or the recursion), differentiated by central
finite differences.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qbjax.models._multi_cell_fcs import entropy_production
from qbjax.models.multi_cell import three_cell, two_cell

POINTS = [(1.0, 0.2, 0.3), (2.0, 0.5, 0.3), (0.5, 1.5, 0.3), (0.3, 0.1, 0.3), (1.0, 0.9, 1.4), (1.5, 0.4, 1.4)]


@eqx.filter_jit
def _two_cell_batch(TL, TR, lam):
    def one(TL, TR, lam):
        m = two_cell(TL, TR, lam)
        return m.heat_current_statistics(order=3), m.heat_currents()
    return jax.vmap(one)(TL, TR, lam)


def _check_conservation(s, ref):
    J, C = s["heat_currents"], s["covariance"]
    scale = np.abs(J).max(axis=-1, keepdims=True)
    np.testing.assert_allclose(J, ref, rtol=1e-10, atol=1e-14)  # the means are heat_currents()
    np.testing.assert_allclose(J.sum(-1), 0.0, atol=1e-12 * scale.max())  # sum_i J_i = 0
    np.testing.assert_allclose(C.sum(-1), 0.0, atol=1e-10 * np.abs(C).max())  # sum_j C_ij = 0
    np.testing.assert_allclose(C, np.swapaxes(C, -1, -2), rtol=1e-13)
    assert np.all(s["entropy_production"] > 0)


def test_two_cell_means_conservation_and_tur():
    TL, TR, lam = (jnp.array(x) for x in zip(*POINTS))
    s, ref = _two_cell_batch(TL, TR, lam)
    _check_conservation(s, ref)
    np.testing.assert_allclose(s["entropy_production"], -(ref[:, 0] / TL + ref[:, 1] / TR), rtol=1e-8)  # cancellation
    tur = np.asarray(s["tur_ratio"])
    assert tur.shape == (len(POINTS), 2) and np.all(tur >= 2.0), tur  # TUR at every temperature pair
    assert [c.shape for c in s["cumulants"]] == [(len(POINTS), 2), (len(POINTS), 2, 2), (len(POINTS), 2, 2, 2)]
    np.testing.assert_allclose(s["cumulants"][1], s["covariance"], rtol=0)
    # two cells: Q_L = -Q_R up to a bounded system energy, so every j3 entry is +-j3_LLL
    j3 = np.asarray(s["cumulants"][2])
    sign = np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])
    np.testing.assert_allclose(j3, j3[:, :1, :1, :1] * sign, rtol=1e-8, atol=1e-12 * np.abs(j3).max())


@pytest.mark.slow  # the three-bath copy of test_two_cell_means_conservation_and_tur (longest compilation)
def test_three_cell_point():
    m = three_cell(1.0, 0.5, 0.1, 0.1)
    s = m.heat_current_statistics()
    _check_conservation(s, m.heat_currents())
    J = np.asarray(s["heat_currents"])
    assert np.all(np.abs(J) > 1e-8)
    assert np.all(np.asarray(s["tur_ratio"]) >= 2.0)
    assert abs(float(s["covariance"][0, 2])) > 1e-8  # a genuine three-bath cross term


def _numpy_scgf(m):
    """lam -> the eigenvalue of the full tilted Liouvillian (row-major vec) closest to 0."""
    L0 = np.asarray(m.liouvillian())
    A = np.asarray(m.lowering_operators())  # (n, P, d, d), real
    emit, absorb = (np.asarray(r) for r in m.rates())
    w = np.asarray(m.transitions()["w"])
    emit_j = np.einsum("ipab,ipcd->ipacbd", A, A).reshape(A.shape[:2] + (A.shape[-1] ** 2,) * 2)  # A . A^T
    At = np.swapaxes(A, -1, -2)
    absorb_j = np.einsum("ipab,ipcd->ipacbd", At, At).reshape(emit_j.shape)  # A^T . A

    def S(lam):
        lam = np.asarray(lam)[:, None]
        L = L0 + np.einsum("ip,ipab->ab", emit * np.expm1(-lam * w), emit_j) \
            + np.einsum("ip,ipab->ab", absorb * np.expm1(lam * w), absorb_j)
        ev = np.linalg.eigvals(L)
        return ev[np.argmin(np.abs(ev))].real

    return S


@pytest.mark.slow
def test_covariance_vs_numpy_liouvillian_eigenvalue():
    m = two_cell(1.2, 0.3, 0.4)
    s = m.heat_current_statistics()
    S, h, e = _numpy_scgf(m), 1e-3, np.eye(2)
    for i in range(2):
        mean = (S(h * e[i]) - S(-h * e[i])) / (2 * h)
        np.testing.assert_allclose(s["heat_currents"][i], mean, rtol=1e-5)
        for j in range(2):
            d2 = (S(h * (e[i] + e[j])) - S(h * (e[i] - e[j])) - S(h * (e[j] - e[i])) + S(-h * (e[i] + e[j]))) / (4 * h * h)
            np.testing.assert_allclose(s["covariance"][i, j], d2, rtol=2e-4)


def test_entropy_production_cold_bath_and_degenerate():
    assert float(entropy_production(jnp.array([0.1, -0.1]), jnp.array([1.0, 0.0]))) == np.inf
    assert float(entropy_production(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))) == 0.0
    np.testing.assert_allclose(entropy_production(jnp.array([0.1, -0.1]), jnp.array([1.0, 0.5])), 0.1)
    with pytest.raises(ValueError, match="level crossing"):
        two_cell(1.0, 0.2, 1.0).heat_current_statistics()  # lam_LR = omega
    nan = two_cell(1.0, 0.2, 1.0).heat_current_statistics(degenerate="nan")
    assert np.all(np.isnan(nan["covariance"])) and np.isnan(nan["entropy_production"])
    with pytest.raises(ValueError, match="degenerate"):
        two_cell(1.0, 0.2, 0.3).heat_current_statistics(degenerate="zero")
    with pytest.raises(ValueError, match="order"):
        two_cell(1.0, 0.2, 0.3).heat_current_statistics(order=0)
