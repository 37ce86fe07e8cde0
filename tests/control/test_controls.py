"""Controls u(t): values against NumPy references, penalties against closed forms and quadrature,
bounds, gradients against central finite differences, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from qbjax.control import Fourier, PiecewiseConstant, PiecewiseLinear

T1 = 2.0
RNG = np.random.default_rng(7)


def _quad(f, t1, points=()):
    return integrate.quad(f, 0.0, t1, points=list(points) or None, limit=400, epsabs=1e-13, epsrel=1e-13)[0]


def test_piecewise_constant_values_against_numpy():
    values = RNG.uniform(-1, 2, size=7)
    u = PiecewiseConstant(values, T1)
    edges = T1 * np.arange(8) / 7
    ts = np.concatenate([RNG.uniform(0, T1, 50), edges])
    ref = values[np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, 6)]
    got = np.array([float(u(t)) for t in ts])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)
    assert u.breakpoints() == (tuple(edges[1:-1]), ())


def test_piecewise_linear_values_against_numpy():
    values = RNG.uniform(-1, 2, size=6)
    u = PiecewiseLinear(values, T1)
    nodes = T1 * np.arange(6) / 5
    ts = RNG.uniform(0, T1, 50)
    got = jax.vmap(u)(jnp.asarray(ts))
    np.testing.assert_allclose(got, np.interp(ts, nodes, values), rtol=0, atol=1e-14)
    assert u.breakpoints() == ((), tuple(nodes[1:-1]))


def test_fourier_values_against_numpy():
    z = RNG.normal(size=7)  # K = 3
    u = Fourier(z, T1)
    ts = RNG.uniform(0, T1, 30)
    w = 2 * np.pi * np.arange(1, 4) / T1
    ref = z[0] + np.cos(np.outer(ts, w)) @ z[1:4] + np.sin(np.outer(ts, w)) @ z[4:]
    np.testing.assert_allclose(jax.vmap(u)(jnp.asarray(ts)), ref, rtol=0, atol=1e-13)


def test_piecewise_penalties_closed_form_and_quadrature():
    c = RNG.uniform(-1, 2, size=5)
    pc = PiecewiseConstant(c, T1)
    dt = T1 / 5
    assert float(pc.fluence()) == pytest.approx(dt * np.sum(c**2), rel=1e-14)
    assert float(pc.fluence()) == pytest.approx(_quad(lambda t: float(pc(t)) ** 2, T1, pc.breakpoints()[0]), rel=1e-10)
    assert float(pc.roughness()) == pytest.approx(np.sum(np.diff(c) ** 2), rel=1e-14)

    pl = PiecewiseLinear(c, T1)  # 4 segments
    nodes = pl.breakpoints()[1]
    assert float(pl.fluence()) == pytest.approx(_quad(lambda t: float(np.interp(t, pl.edges(), c)) ** 2, T1, nodes),
                                                rel=1e-12)
    slope = np.diff(c) / (T1 / 4)
    assert float(pl.roughness()) == pytest.approx(np.sum(slope**2) * T1 / 4, rel=1e-13)


def test_fourier_penalties_parseval_and_quadrature():
    z = RNG.normal(size=5)  # K = 2
    u = Fourier(z, T1)
    w = 2 * np.pi * np.arange(1, 3) / T1

    def du(t):
        return float(np.sum(w * (z[3:] * np.cos(w * t) - z[1:3] * np.sin(w * t))))

    # the integrands compiled (jax.jit): the adaptive quadrature calls them hundreds of times
    uj = jax.jit(lambda t: u(t))
    assert float(u.fluence()) == pytest.approx(_quad(lambda t: float(uj(t)) ** 2, T1), rel=1e-12)
    assert float(u.roughness()) == pytest.approx(_quad(lambda t: du(t) ** 2, T1), rel=1e-12)

    ub = Fourier(z, T1, bounds=(-0.5, 1.5))  # squashed series: penalties by Gauss-Legendre quadrature
    ubj = jax.jit(lambda t: ub(t))
    assert float(ub.fluence()) == pytest.approx(_quad(lambda t: float(ubj(t)) ** 2, T1), rel=1e-12)
    slope = jax.jit(jax.grad(lambda t: ub(t)))
    assert float(ub.roughness()) == pytest.approx(_quad(lambda t: float(slope(t)) ** 2, T1), rel=1e-10)


def test_bounds_are_respected():
    lo, hi = -0.3, 0.8
    z = RNG.normal(scale=30.0, size=9)
    ts = jnp.linspace(0, T1, 401)
    for u in (PiecewiseConstant(0.0, T1, n=9, bounds=(lo, hi)).with_params(z),
              PiecewiseLinear(0.0, T1, n=8, bounds=(lo, hi)).with_params(z),
              Fourier(z, T1, bounds=(lo, hi))):
        vals = np.asarray(jax.vmap(u)(ts))
        assert vals.min() >= lo and vals.max() <= hi
    # the initial values are reproduced through the inverse of the sigmoid box
    v = RNG.uniform(lo, hi, size=4)
    np.testing.assert_allclose(PiecewiseConstant(v, T1, bounds=(lo, hi)).values(), v, rtol=0, atol=1e-13)
    assert float(Fourier.constant(0.1, 3, T1, bounds=(lo, hi))(0.37)) == pytest.approx(0.1, abs=1e-14)


@pytest.mark.parametrize("make", [
    lambda z: PiecewiseConstant(0.0, T1, n=5, bounds=(-1.0, 2.0)).with_params(z),
    lambda z: PiecewiseLinear(0.0, T1, n=4, bounds=(-1.0, 2.0)).with_params(z),
    lambda z: Fourier(np.zeros(5), T1).with_params(z),
    lambda z: Fourier(np.zeros(5), T1, bounds=(-1.0, 2.0)).with_params(z),
], ids=["constant", "linear", "fourier", "fourier-bounded"])
def test_gradients_against_finite_differences(make):
    z0 = RNG.normal(size=5)

    def f(z):
        u = make(z)
        return u(0.3) + 2 * u(1.7) + 0.5 * u.fluence() + 0.25 * u.roughness()

    g = np.asarray(jax.grad(f)(jnp.asarray(z0)))
    h = 1e-5  # central differences, error O(h^2)
    fd = np.array([(f(z0 + h * e) - f(z0 - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="bounds"):
        PiecewiseConstant(0.5, T1, n=3, bounds=(1.0, 1.0))
    with pytest.raises(ValueError, match="bounds"):
        PiecewiseLinear(0.5, T1, n=3, bounds=(2.0, 1.0))
    with pytest.raises(ValueError, match="t1"):
        PiecewiseConstant(0.5, 0.0, n=3)
    with pytest.raises(ValueError, match="t1"):
        Fourier([0.0], -1.0)
    with pytest.raises(ValueError, match="values"):
        PiecewiseConstant([0.5, 3.0], T1, bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="n must"):
        PiecewiseConstant(0.5, T1, n=0)
    with pytest.raises(ValueError, match="coefficients"):
        Fourier([0.0, 1.0], T1)
