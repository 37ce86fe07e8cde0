"""Time evolution (diffrax on the real representation, and solver="expm").

References: qutip.mesolve with tight tolerances (time-dependent drive), scipy.linalg.expm on the
superoperator (constant L), central finite differences (gradients).
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
import scipy.linalg

import qbjax as qb
from _core_ref import np_vec, rand_dm, rand_herm

SM = np.array([[0.0, 1.0], [0.0, 0.0]])
SX = np.array([[0.0, 1.0], [1.0, 0.0]])
SZ = np.diag([1.0, -1.0])
W, GAMMA, NU = 1.0, 0.15, 0.9


def _driven_generator(A):
    """L(t) = L0 + A cos(nu t) L1 for H(t) = (w/2) sz + A cos(nu t) sx, jump sqrt(gamma) sigma_-."""
    L0 = qb.liouvillian(0.5 * W * SZ, [np.sqrt(GAMMA) * SM])
    L1 = qb.liouvillian(SX)
    return lambda t: L0 + A * jnp.cos(NU * t) * L1


def test_time_dependent_vs_qutip_mesolve():
    A = 0.6
    rho0 = np.array([[0.2, 0.3 - 0.1j], [0.3 + 0.1j, 0.8]])
    ts = np.linspace(0.0, 8.0, 17)
    got = np.asarray(qb.evolve(_driven_generator(A), rho0, ts, rtol=1e-11, atol=1e-13))
    assert got.shape == (17, 2, 2)
    # QuTiP mesolve, same matrices, tight tolerances
    H = [qutip.Qobj(0.5 * W * SZ), [qutip.Qobj(SX), lambda t: A * np.cos(NU * t)]]
    res = qutip.mesolve(
        H, qutip.Qobj(rho0), ts, [qutip.Qobj(np.sqrt(GAMMA) * SM)],
        options={"atol": 1e-13, "rtol": 1e-11, "nsteps": 100000},
    )
    ref = np.stack([s.full() for s in res.states])
    np.testing.assert_allclose(got, ref, atol=1e-8)
    np.testing.assert_allclose(np.trace(got, axis1=-2, axis2=-1), 1.0, atol=1e-10)


@pytest.mark.parametrize(
    "solver", [None, "expm", pytest.param(diffrax.Dopri8(), marks=pytest.mark.slow, id="Dopri8")]
)
def test_constant_L_vs_scipy_expm_with_t0_under_jit(solver):
    # also: an explicit t0 < ts[0], and evolve called inside an outer jax.jit
    rng = np.random.default_rng(0)
    d = 3
    H = rand_herm(rng, d)
    cs = [0.4 * (rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))]
    L = np.asarray(qb.liouvillian(H, cs))
    rho0 = rand_dm(rng, d)
    ts = np.array([0.3, 1.1, 2.5])
    t0 = 0.1
    run = jax.jit(lambda L, r: qb.evolve(L, r, ts, solver=solver, rtol=1e-11, atol=1e-13, t0=t0))
    got = np.asarray(run(jnp.asarray(L), jnp.asarray(rho0)))
    # SciPy: rho(t) = unvec(expm(L (t - t0)) vec(rho0))
    ref = np.stack([(scipy.linalg.expm(L * (t - t0)) @ np_vec(rho0)).reshape(d, d) for t in ts])
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_default_t0_is_first_time():
    rng = np.random.default_rng(1)
    L = qb.liouvillian(rand_herm(rng, 2), [0.5 * SM, 0.2 * SM.T])
    rho0 = rand_dm(rng, 2)
    ts = jnp.linspace(0.5, 3.0, 6)
    out = qb.evolve(L, rho0, ts, solver="expm")
    np.testing.assert_allclose(out[0], rho0, atol=1e-14)  # rho(ts[0]) = rho0
    ref = (scipy.linalg.expm(np.asarray(L) * 2.5) @ np_vec(rho0)).reshape(2, 2)  # SciPy expm
    np.testing.assert_allclose(out[-1], ref, atol=1e-12)


def test_batched_rho0_and_batched_L_shapes():
    rng = np.random.default_rng(2)
    d = 2
    Ls = qb.liouvillian(rand_herm(rng, d, batch=(2,)), [0.5 * SM])  # (2, 4, 4)
    rho0 = rand_dm(rng, d, batch=(3, 1))  # (3, 1, 2, 2)
    ts = jnp.linspace(0.0, 2.0, 5)
    for solver in (None, "expm"):
        out = np.asarray(qb.evolve(Ls, rho0, ts, solver=solver, rtol=1e-10, atol=1e-12))
        assert out.shape == (3, 2, 5, d, d)
        for i in range(3):
            for j in range(2):  # reference: unbatched calls in a loop
                one = qb.evolve(Ls[j], rho0[i, 0], ts, solver="expm")
                np.testing.assert_allclose(out[i, j], one, atol=1e-9)
    # batched rho0 with a single L, and with a callable L
    out1 = qb.evolve(Ls[0], rho0[:, 0], ts, solver="expm")
    assert out1.shape == (3, 5, d, d)
    out2 = qb.evolve(lambda t: Ls[0], rho0[:, 0], ts, rtol=1e-10, atol=1e-12)
    assert out2.shape == (3, 5, d, d)
    np.testing.assert_allclose(out2, out1, atol=1e-9)


def test_vmap_over_drive_amplitude():
    rho0 = jnp.diag(jnp.array([1.0, 0.0])).astype(complex)
    ts = jnp.linspace(0.0, 3.0, 4)
    f = jax.jit(lambda A: qb.evolve(_driven_generator(A), rho0, ts, rtol=1e-10, atol=1e-12))
    As = jnp.array([0.1, 0.5])
    out = jax.vmap(f)(As)
    assert out.shape == (2, 4, 2, 2)
    for k in range(2):  # reference: unbatched calls (one compiled function)
        np.testing.assert_allclose(out[k], f(As[k]), atol=1e-10)


# reverse mode through a time-dependent diffrax solve (~18 s): -m slow; by default the protocol
# optimiser's gradients through time-dependent drives are checked against central differences
# (tests/control/test_optimize_protocol.py) and the constant drive below
@pytest.mark.slow
def test_gradient_final_energy_wrt_drive_vs_fd():
    # reverse mode through diffrax (RecursiveCheckpointAdjoint) with a time-dependent drive
    H0 = jnp.asarray(0.5 * W * SZ)
    rho0 = jnp.diag(jnp.array([0.0, 1.0])).astype(complex)  # start in the ground state of (w/2) sz
    ts = jnp.array([0.0, 4.0])

    @jax.jit
    def final_energy(A):
        rho = qb.evolve(_driven_generator(A), rho0, ts, rtol=1e-11, atol=1e-13)[-1]
        return qb.energy(rho, H0)

    A = 0.4
    g = jax.grad(final_energy)(A)
    h = 1e-4
    ref = (final_energy(A + h) - final_energy(A - h)) / (2 * h)  # central finite difference
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-9)


def _const_drive_ergotropy(A, solver):
    rho0 = jnp.diag(jnp.array([0.0, 1.0])).astype(complex)
    H0 = jnp.asarray(0.5 * W * SZ)
    L = qb.liouvillian(H0 + A * SX, [np.sqrt(GAMMA) * SM])
    kw = {} if solver == "expm" else dict(rtol=1e-11, atol=1e-13)
    return qb.ergotropy(qb.evolve(L, rho0, jnp.array([0.0, 2.0]), solver=solver, **kw)[-1], H0)


def test_gradient_constant_drive_expm_vs_fd():
    f = jax.jit(lambda a: _const_drive_ergotropy(a, "expm"))
    A, h = 0.7, 1e-5
    ref = (f(A + h) - f(A - h)) / (2 * h)  # central finite difference
    np.testing.assert_allclose(jax.grad(f)(A), ref, rtol=1e-7)


@pytest.mark.slow
def test_gradient_constant_drive_diffrax_vs_expm():
    A = 0.7
    g_expm = jax.grad(lambda a: _const_drive_ergotropy(a, "expm"))(A)
    g_dfx = jax.grad(lambda a: _const_drive_ergotropy(a, None))(A)
    np.testing.assert_allclose(g_dfx, g_expm, rtol=1e-7)
