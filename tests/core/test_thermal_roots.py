"""Bose-Einstein occupation and scalar root finding / maximisation.

References: the closed form 1/expm1(omega/T) in NumPy; scipy.optimize.brentq and
scipy.optimize.minimize_scalar; closed-form maximisers.
"""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq, minimize_scalar

import qbjax as qb
from qbjax._roots import bisect, golden_max, grid_argmax, grid_argmax_stacked


def test_bose_einstein_vs_closed_form_and_broadcast():
    w = np.array([0.1, 1.0, 3.0])[:, None]
    T = np.array([0.05, 0.5, 2.0, 10.0])[None, :]
    got = np.asarray(qb.bose_einstein(w, T))
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, 1.0 / np.expm1(w / T), rtol=1e-13)  # closed form (NumPy)


def test_bose_einstein_zero_temperature_and_gradients():
    assert float(qb.bose_einstein(1.0, 0.0)) == 0.0  # closed form: n(T = 0) = 0 exactly
    gT = jax.grad(qb.bose_einstein, argnums=1)(1.0, 0.0)
    gw = jax.grad(qb.bose_einstein, argnums=0)(1.0, 0.0)
    assert np.isfinite(gT) and np.isfinite(gw)
    assert float(gT) == 0.0 and float(gw) == 0.0
    # away from 0: dn/dT = (w/T^2) e^{w/T} / (e^{w/T} - 1)^2 (closed form)
    w, T = 1.3, 0.7
    ref = (w / T**2) * np.exp(w / T) / np.expm1(w / T) ** 2
    np.testing.assert_allclose(jax.grad(qb.bose_einstein, argnums=1)(w, T), ref, rtol=1e-12)
    # vmapped gradient over a temperature grid containing 0
    g = jax.vmap(jax.grad(qb.bose_einstein, argnums=1), (None, 0))(1.0, jnp.array([0.0, 1e-3, 0.5]))
    assert np.all(np.isfinite(g))


def test_bose_einstein_no_overflow():
    # omega / T = 1e4 and 1e300: exp(+x) would overflow; the result must be ~0 and finite, gradients too
    for w, T in [(1e4, 1.0), (1.0, 1e-300), (700.0, 0.5)]:
        n = qb.bose_einstein(w, T)
        assert np.isfinite(n) and 0.0 <= float(n) < 1e-300
        g = jax.grad(qb.bose_einstein, argnums=(0, 1))(w, T)
        assert all(np.isfinite(x) for x in g)
    # small omega / T: n ~ T/omega - 1/2 (closed-form expansion)
    np.testing.assert_allclose(qb.bose_einstein(1e-6, 1.0), 1e6 - 0.5, rtol=1e-12)


def test_bisect_tan_vs_brentq():
    f = lambda x: jnp.tan(x) - 2 * x
    root = float(bisect(f, 0.5, 1.5))
    ref = brentq(lambda x: np.tan(x) - 2 * x, 0.5, 1.5, xtol=1e-15)  # SciPy brentq
    np.testing.assert_allclose(root, ref, rtol=1e-14)
    # batched brackets (vmap): the second root of tan x = 2x lies in (pi, 3 pi / 2)
    lo = jnp.array([0.5, np.pi + 0.1])
    hi = jnp.array([1.5, 1.5 * np.pi - 1e-3])
    roots = jax.vmap(lambda a, b: bisect(f, a, b))(lo, hi)
    ref2 = brentq(lambda x: np.tan(x) - 2 * x, np.pi + 0.1, 1.5 * np.pi - 1e-3, xtol=1e-15)
    np.testing.assert_allclose(roots, [ref, ref2], rtol=1e-14)
    # no sign change: NaN (documented)
    assert np.isnan(float(bisect(lambda x: x * x + 1.0, 0.0, 1.0)))


def test_golden_and_grid_argmax():
    # closed form: x e^{-x} has its maximum at x = 1, value 1/e
    x, fx = golden_max(lambda x: x * jnp.exp(-x), 0.0, 4.0)
    np.testing.assert_allclose([x, fx], [1.0, np.exp(-1.0)], rtol=1e-8)
    # multimodal: global max on [0, 10] of sin(x) + 0.3 sin(3 x) + 0.05 x; reference: a dense NumPy grid
    # refined by scipy.optimize.minimize_scalar (bounded)
    g = lambda x: jnp.sin(x) + 0.3 * jnp.sin(3 * x) + 0.05 * x
    gn = lambda x: np.sin(x) + 0.3 * np.sin(3 * x) + 0.05 * x
    xs = np.linspace(0, 10, 200001)
    x0 = xs[np.argmax(gn(xs))]
    ref = minimize_scalar(lambda x: -gn(x), bounds=(x0 - 1e-3, x0 + 1e-3), method="bounded",
                          options={"xatol": 1e-12}).x
    xm, fm = grid_argmax(g, 0.0, 10.0)
    np.testing.assert_allclose(xm, ref, atol=1e-7)
    np.testing.assert_allclose(fm, gn(ref), rtol=1e-13)


def test_stacked_grid_argmax_equals_one_search_per_function():
    # three functions searched at once, one call of f per step: the numbers of three grid_argmax calls
    fs = [lambda x: jnp.sin(x) + 0.3 * jnp.sin(3 * x) + 0.05 * x, lambda x: x * jnp.exp(-x), lambda x: -(x - 7.3) ** 2]
    calls = []

    def stacked(ts):
        calls.append(ts.shape)
        return jnp.stack([f(t) for f, t in zip(fs, ts)])

    grid = jnp.linspace(0.0, 10.0, 401)
    x, fx = grid_argmax_stacked(stacked, 0.0, 10.0, jnp.stack([f(grid) for f in fs]))
    for i, f in enumerate(fs):
        xi, fi = grid_argmax(f, 0.0, 10.0, n_grid=401)
        np.testing.assert_allclose([x[i], fx[i]], [xi, fi], rtol=1e-15)
    np.testing.assert_allclose(x[1:], [1.0, 7.3], rtol=1e-7)  # a smooth maximum: to ~sqrt(eps)
    assert calls == [(3, 2), (3, 1)]  # traced once in the loop, once at the maximiser
