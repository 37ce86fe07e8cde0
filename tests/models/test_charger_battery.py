"""ChargerBattery (paper 004): numerical evolution against the paper's closed forms.

References: the formulas are transcribed here directly from the paper (Downing & Ukhtary, "Charging
a quantum battery from the Bloch sphere"), with the errata stated in ``qbjax.models.charger_battery``; the constants come
from scipy.optimize.brentq on the paper's transcendental equations.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import qbjax as qb
from qbjax.models import charger_battery as cb

THETAS = [0.3, np.pi / 3, np.pi / 2, 2.2, np.pi]
TS = jnp.linspace(0.05, 6.0, 41)


def paper_lossless(theta, t, J=1.0, w=1.0):
    """Eqs. (30), (38), (57), (59), (36 corrected), (55), (56)."""
    s2 = np.sin(theta / 2) ** 2
    return {
        "energy": w * s2 * np.sin(J * t) ** 2,  # Eq. (30)
        "ergotropy": w * (s2 * np.sin(J * t) ** 2 - 0.5 * (1 - np.sqrt(1 - s2**2 * np.sin(2 * J * t) ** 2))),  # (38)
        "capacity": w * np.sqrt(1 - s2**2 * np.sin(2 * J * t) ** 2),  # Eq. (57)
        "concurrence": s2 * np.abs(np.sin(2 * J * t)),  # Eq. (59)
        "variance": w**2 * s2 * np.sin(J * t) ** 2 * (1 - s2 * np.sin(J * t) ** 2),  # Eq. (36), corrected
    }


def paper_dissipative(theta, t, J=1.0, w=1.0, gamma=0.0):
    """Eqs. (62), (69), (70) with G of Eq. (61)."""
    s2 = np.sin(theta / 2) ** 2
    G = np.sqrt(J**2 - (gamma / 4) ** 2)
    f = J / G * np.sin(G * t) * np.exp(-gamma * t / 4)
    root = np.sqrt(1 - 4 * s2**2 * f**2 * (1 - f**2))
    return {
        "energy": w * s2 * (J / G) ** 2 * np.sin(G * t) ** 2 * np.exp(-gamma * t / 2),  # Eq. (62)
        "ergotropy": w * (s2 * f**2 - 0.5 * (1 - root)),  # Eq. (69)
        "capacity": w * root,  # Eq. (70)
    }


@pytest.mark.parametrize("theta", THETAS)
def test_lossless_numerics_match_paper(theta):
    m = qb.models.ChargerBattery(theta, phi=0.7, J=1.0, omega_b=1.0)
    ref = paper_lossless(theta, np.asarray(TS))
    for key, value in ref.items():
        got = np.asarray(m.curves(TS)[key])
        np.testing.assert_allclose(got, value, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("theta,gamma,J,w", [(np.pi / 2, 0.2, 1.0, 1.0), (2.2, 0.5, 1.0, 1.0),
                                             (np.pi, 1.0, 1.3, 0.8), (1.0, 0.05, 0.7, 2.0)])
def test_dissipative_numerics_match_paper(theta, gamma, J, w):
    m = qb.models.ChargerBattery(theta, J=J, omega_b=w, gamma=gamma)
    ref = paper_dissipative(theta, np.asarray(TS), J=J, w=w, gamma=gamma)
    for key, value in ref.items():
        got = np.asarray(m.curves(TS)[key])
        np.testing.assert_allclose(got, value, atol=1e-7, err_msg=key)


def test_closed_form_module_matches_paper_transcription():
    for theta in THETAS:
        cf = cb.closed_form(theta, TS)
        for key, value in paper_lossless(theta, np.asarray(TS)).items():
            np.testing.assert_allclose(cf[key], value, atol=1e-12, err_msg=key)
        cf = cb.closed_form(theta, TS, J=1.2, omega_b=0.9, gamma=0.3)
        for key, value in paper_dissipative(theta, np.asarray(TS), J=1.2, w=0.9, gamma=0.3).items():
            np.testing.assert_allclose(cf[key], value, atol=1e-12, err_msg=key)


def test_errata_moments_carry_factor_minus_i():
    """The errata of Eqs. (24) and (28): <sa^dag sb> = -(i/2) s2 sin(2Jt),
    <sb> = -(i/2) e^{i phi} sin(theta) sin(Jt) e^{-i w t}."""
    theta, phi, J, w = 1.1, 0.4, 0.9, 1.3
    m = qb.models.ChargerBattery(theta, phi=phi, J=J, omega_b=w)
    rho = np.asarray(m.evolve(TS))
    sig = np.array([[0, 1], [0, 0]])
    sa, sb = np.kron(sig, np.eye(2)), np.kron(np.eye(2), sig)
    t = np.asarray(TS)
    ad_b = np.einsum("tij,ji->t", rho, sa.T @ sb)
    b = np.einsum("tij,ji->t", rho, sb)
    np.testing.assert_allclose(ad_b, -0.5j * np.sin(theta / 2) ** 2 * np.sin(2 * J * t), atol=1e-8)
    np.testing.assert_allclose(b, -0.5j * np.exp(1j * phi) * np.sin(theta) * np.sin(J * t) * np.exp(-1j * w * t),
                               atol=1e-8)
    # the printed Eq. (36), with sin^2(2Jt), disagrees with the numerical variance
    printed = np.asarray(cb.published_variance(theta, TS, J=J, omega_b=w))
    assert np.max(np.abs(printed - np.asarray(m.curves(TS)["variance"]))) > 1e-2


def test_constants_by_root_finding():
    A = brentq(lambda x: np.tan(x) - 2 * x, 1.0, 1.5, xtol=1e-15)  # Eq. (34)
    C = brentq(lambda x: 1 + 2 * x * np.tan(2 * x), 0.8, 1.5, xtol=1e-15)  # Eq. (42)
    ref = {"A": A, "B": np.sin(A) ** 2 / A, "C": C, "D": -np.cos(2 * C) / C,
           "K": -A * np.tan(2 * A) / 4, "L": -np.tan(2 * A) / 4}
    got = cb.constants()
    for key, value in ref.items():
        assert abs(float(got[key]) - value) < 1e-9, key
    # the paper's printed digits
    printed = {"A": 1.165, "B": 0.724, "C": 1.399, "D": 0.673, "K": 0.306, "L": 0.262}
    for key, value in printed.items():
        assert abs(float(got[key]) - value) < 1e-3, key


def test_optimal_times_lossless():
    """Eqs. (31), (34), (35), (40), (41), (42), (44): t_E = pi/2J, t_P = A/J, P = B w J s2,
    t_Pe(pi) = C/J with peak D w J."""
    c = cb.constants()
    J, w = 1.3, 0.7
    for theta in [np.pi / 2, np.pi]:
        opt = qb.models.ChargerBattery(theta, J=J, omega_b=w).optimal_times()
        s2 = np.sin(theta / 2) ** 2
        assert abs(float(opt["t_E"]) - np.pi / (2 * J)) < 1e-6
        assert abs(float(opt["E_max"]) - w * s2) < 1e-9
        assert abs(float(opt["t_erg"]) - np.pi / (2 * J)) < 1e-6
        assert abs(float(opt["t_P"]) - float(c["A"]) / J) < 1e-6
        assert abs(float(opt["P_max"]) - float(c["B"]) * w * J * s2) < 1e-9
    opt = qb.models.ChargerBattery(np.pi, J=J, omega_b=w).optimal_times()
    assert abs(float(opt["t_Pe"]) - float(c["C"]) / J) < 1e-6
    assert abs(float(opt["Pe_max"]) - float(c["D"]) * w * J) < 1e-9


def test_approximations_43_45_max_error():
    """The paper's approximations, independently measured: max errors 5.4e-3/J (Eq. 43) and 1.8e-2 w_b J (Eq. 45)."""
    thetas = jnp.linspace(0.05, np.pi, 60)
    opts = [qb.models.ChargerBattery(th).optimal_times(n_grid=801) for th in thetas]
    opt = {k: np.array([o[k] for o in opts]) for k in opts[0]}
    err_t = np.max(np.abs(np.asarray(opt["t_Pe"]) - np.asarray(cb.approx_t_Pe(thetas))))
    err_p = np.max(np.abs(np.asarray(opt["Pe_max"]) - np.asarray(cb.approx_Pe_max(thetas))))
    assert 4.5e-3 < err_t < 6.5e-3, err_t
    assert 1.5e-2 < err_p < 2.1e-2, err_p


def test_dissipative_optimal_time_eqs_63_64_and_first_order_error():
    J = 1.0
    errs = []
    for gamma in [0.2, 0.1]:
        theta = 2.0
        G = np.sqrt(J**2 - gamma**2 / 16)
        opt = qb.models.ChargerBattery(theta, J=J, gamma=gamma).optimal_times()
        t_E = np.arctan(4 * G / gamma) / G  # Eq. (63)
        E_max = np.sin(theta / 2) ** 2 * np.exp(-gamma / (2 * G) * np.arctan(4 * G / gamma))  # Eq. (64)
        assert abs(float(opt["t_E"]) - t_E) < 1e-6
        assert abs(float(opt["E_max"]) - E_max) < 1e-9
        errs.append(abs(float(opt["t_E"]) - np.pi / (2 * J) * (1 - gamma / (2 * np.pi * J))))  # Eq. (65)
    # Eq. (65) is first order: halving gamma divides its error by about 4
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_gradients_match_finite_differences():
    t = jnp.array([0.9])

    def erg(theta, gamma):
        return qb.models.ChargerBattery(theta, gamma=gamma).ergotropy_curve(t)[0]

    grad = jax.jit(jax.grad(erg, argnums=(0, 1)))  # compiled once, reused at theta = pi below
    g_theta, g_gamma = grad(1.2, 0.3)
    erg = jax.jit(erg)
    h = 1e-5
    fd_theta = (erg(1.2 + h, 0.3) - erg(1.2 - h, 0.3)) / (2 * h)
    fd_gamma = (erg(1.2, 0.3 + h) - erg(1.2, 0.3 - h)) / (2 * h)
    np.testing.assert_allclose(g_theta, fd_theta, rtol=1e-5)
    np.testing.assert_allclose(g_gamma, fd_gamma, rtol=1e-5)
    # theta = pi: no coherence, degenerate spectrum (the same compiled gradient)
    assert all(np.isfinite(float(g)) for g in grad(np.pi, 0.0))


@pytest.mark.slow
def test_vmap_over_models_equals_loop():
    thetas = jnp.array([0.4, 1.5, 3.0])
    batched = jax.vmap(lambda th: qb.models.ChargerBattery(th, gamma=0.1).ergotropy_curve(TS))(thetas)
    for i, th in enumerate(thetas):
        np.testing.assert_allclose(batched[i], qb.models.ChargerBattery(th, gamma=0.1).ergotropy_curve(TS), atol=1e-12)


@pytest.mark.parametrize("kwargs,name", [({"gamma": -0.1}, "gamma"), ({"J": -1.0}, "J"),
                                         ({"theta": float("nan")}, "theta")])
def test_bad_parameters_name_the_argument(kwargs, name):
    params = {"theta": 1.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        qb.models.ChargerBattery(**params)


def test_bad_parameters_inside_jit_raise():
    f = jax.jit(lambda g: qb.models.ChargerBattery(1.0, gamma=g).curves(jnp.array([1.0]))["energy"])
    with pytest.raises(Exception, match="gamma"):
        f(-0.5)


def test_closed_form_rejects_overdamped_regime():
    with pytest.raises(ValueError, match="gamma"):
        cb.closed_form(1.0, TS, J=1.0, gamma=5.0)
