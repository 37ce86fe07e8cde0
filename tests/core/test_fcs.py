"""Exact counting statistics (Rayleigh-Schroedinger cumulants).

References: the closed-form SCGF of the two-state counting process,
S(lam) = (-(a+b) + sqrt((a-b)^2 + 4ab e^lam)) / 2, differentiated symbolically with SymPy (or, where
SymPy is missing, with nested jax.grad of that closed form: independent of the RS recursion); for a
Lindblad example, the NumPy eigenvalue of L(lam) that tends to 0, differentiated numerically (a Cauchy
contour integral on complex lam for all four orders, and real central differences for j1, j2).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb
from qbjax._superop import sprepost

RATES = [(1.0, 1.0), (0.3, 2.0), (5.0, 0.2), (1.7, 0.9)]
TRACE2 = jnp.array([1.0, 1.0])


def _two_state(a, b):
    a = jnp.asarray(a, dtype=float)
    b = jnp.asarray(b, dtype=float)

    def gen(lam):
        el = jnp.exp(lam)
        row0 = jnp.stack([-a, b * el], axis=-1)
        row1 = jnp.stack([a, -b + 0.0 * el], axis=-1)
        return jnp.stack([row0, row1], axis=-2)

    return gen


def closed_form_cumulants(a, b, order=4):
    """d^k S / d lam^k at 0 of S(lam) = (-(a+b) + sqrt((a-b)^2 + 4ab e^lam))/2."""
    try:
        import sympy as sp

        lam, A, B = sp.symbols("lam a b", positive=True)
        S = (-(A + B) + sp.sqrt((A - B) ** 2 + 4 * A * B * sp.exp(lam))) / 2
        return np.array(
            [float(sp.diff(S, lam, k).subs({lam: 0, A: sp.Float(a, 30), B: sp.Float(b, 30)}).evalf(30))
             for k in range(1, order + 1)]
        )
    except ImportError:  # fall back: nested jax.grad of the closed form (not the RS scheme)
        S = lambda lam: (-(a + b) + jnp.sqrt((a - b) ** 2 + 4 * a * b * jnp.exp(lam))) / 2
        fs, out = [S], []
        for _ in range(order):
            fs.append(jax.grad(fs[-1]))
            out.append(float(fs[-1](0.0)))
        return np.array(out)


@pytest.mark.parametrize("a,b", RATES)
def test_two_state_vs_closed_form(a, b):
    got = np.asarray(qb.cumulants(_two_state(a, b), order=4, trace=TRACE2))
    ref = closed_form_cumulants(a, b)  # SymPy derivatives of the closed-form SCGF
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    # sanity of the closed form itself: j1 = ab/(a+b)  (mean current of the renewal process)
    np.testing.assert_allclose(ref[0], a * b / (a + b), rtol=1e-14)


def test_two_state_batched_and_orders():
    # (compiled with jax.jit: eager nested forward AD compiles every primitive separately and is slow)
    cum = jax.jit(lambda a, b, order: qb.cumulants(_two_state(a, b), order=order, trace=TRACE2),
                  static_argnums=2)
    a = jnp.array([r[0] for r in RATES])
    b = jnp.array([r[1] for r in RATES])
    got = np.asarray(cum(a, b, 4))
    assert got.shape == (len(RATES), 4)
    ref = np.stack([closed_form_cumulants(x, y) for x, y in RATES])  # SymPy closed form, loop
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    for order in (1, 2, 3):  # lower orders are the leading entries of order 4
        low = cum(a, b, order)
        assert low.shape == (len(RATES), order)
        np.testing.assert_allclose(low, got[:, :order], rtol=1e-12)
    # batched 2-D grid of rates
    A, B = jnp.meshgrid(jnp.array([0.5, 2.0]), jnp.array([0.3, 1.0, 4.0]), indexing="ij")
    grid = np.asarray(cum(A, B, 4))
    assert grid.shape == (2, 3, 4)
    np.testing.assert_allclose(grid[1, 2], closed_form_cumulants(2.0, 4.0), rtol=1e-9, atol=1e-12)


def test_two_state_jit_and_vmap():
    f = lambda a, b: qb.cumulants(_two_state(a, b), trace=TRACE2)
    out = jax.jit(jax.vmap(f))(jnp.array([0.3, 5.0]), jnp.array([2.0, 0.2]))
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[0], closed_form_cumulants(0.3, 2.0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out[1], closed_form_cumulants(5.0, 0.2), rtol=1e-9, atol=1e-12)


def test_grad_j2_wrt_rate_vs_fd():
    b = 0.8
    j2 = jax.jit(lambda a: qb.cumulants(_two_state(a, b), order=2, trace=TRACE2)[1])
    a, h = 1.3, 1e-5
    g = jax.grad(j2)(a)
    np.testing.assert_allclose(g, (j2(a + h) - j2(a - h)) / (2 * h), rtol=1e-7)  # central FD
    # closed form: j2 = ab (a^2 + b^2) / (a+b)^3 -> its derivative in a, by central FD of the formula
    j2c = lambda a: a * b * (a * a + b * b) / (a + b) ** 3
    np.testing.assert_allclose(float(j2(a)), j2c(a), rtol=1e-12)
    np.testing.assert_allclose(g, (j2c(a + h) - j2c(a - h)) / (2 * h), rtol=1e-7)


# ---------------------------------------------------------------- Lindblad example, default trace

SM = np.array([[0.0, 1.0], [0.0, 0.0]])


def _qubit_emission(omega, delta, gamma):
    """Driven qubit with counted emission: L(lam) = L0 + (e^lam - 1) gamma sm (.) sm^dag."""
    H = 0.5 * delta * np.diag([1.0, -1.0]) + 0.5 * omega * np.array([[0.0, 1.0], [1.0, 0.0]])
    c = np.sqrt(gamma) * SM
    L0 = qb.liouvillian(H, [c])
    J = sprepost(c, c.conj().T)
    return lambda lam: L0 + (jnp.exp(lam) - 1.0) * J


@pytest.mark.parametrize("omega,delta,gamma", [(1.0, 0.0, 0.5), (0.6, 0.8, 1.2)])
def test_lindblad_emission_vs_numpy_eigenvalue(omega, delta, gamma):
    gen = _qubit_emission(omega, delta, gamma)
    got = np.asarray(jax.jit(lambda: qb.cumulants(gen, order=4))())  # default trace: vec(identity)
    c = np.sqrt(gamma) * SM
    L0 = np.asarray(gen(0.0))
    J = np.asarray(sprepost(c, c.conj().T))

    def S(z):  # NumPy eigenvalue of L(z), complex z allowed, branch through S(0) = 0
        ev = np.linalg.eigvals(L0 + (np.exp(z) - 1.0) * J)
        return ev[np.argmin(np.abs(ev))]

    # Cauchy integral on |z| = r (trapezoidal rule, exponentially accurate for analytic S):
    # S^(k)(0) = k! / (N r^k) sum_j S(r e^{i t_j}) e^{-i k t_j}
    N, r = 64, 0.05
    th = 2 * np.pi * np.arange(N) / N
    vals = np.array([S(r * np.exp(1j * t)) for t in th])
    ref = np.array([math.factorial(k) / r**k * np.mean(vals * np.exp(-1j * k * th)) for k in range(1, 5)]).real
    np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-10)
    # plain real central differences for j1, j2 (h = 1e-3: truncation ~h^2, round-off ~eps/h^2)
    h = 1e-3
    s_p, s_0, s_m = S(h).real, S(0.0).real, S(-h).real
    np.testing.assert_allclose(got[0], (s_p - s_m) / (2 * h), rtol=1e-5)
    np.testing.assert_allclose(got[1], (s_p - 2 * s_0 + s_m) / h**2, rtol=1e-4)
    # closed form of the mean emission rate: gamma * rho_ee with rho_ee = Omega^2/(gamma^2 + 2 Omega^2 + 4 Delta^2)
    np.testing.assert_allclose(got[0], gamma * omega**2 / (gamma**2 + 2 * omega**2 + 4 * delta**2), rtol=1e-12)
