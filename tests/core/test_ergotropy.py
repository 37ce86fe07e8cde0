"""Ergotropy family (energy, passive/active energy, ergotropy, antiergotropy, capacity).

References: an independent NumPy implementation that builds the passive and active STATES explicitly
(_core_ref.np_ergotropy_family); closed-form properties (ABN bounds, passivity); central finite
differences for gradients.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qbjax as qb
from _core_ref import np_ergotropy_family, rand_dm, rand_herm, rand_unitary

NAMES = ["energy", "passive_energy", "active_energy", "ergotropy", "antiergotropy", "capacity"]


@pytest.mark.parametrize("d", [2, 3, 4, 6])
@pytest.mark.parametrize("name", NAMES)
def test_vs_numpy_random(d, name):
    rng = np.random.default_rng(100 + d)
    for rank in (1, d):
        rho = rand_dm(rng, d, rank=rank)
        H = rand_herm(rng, d)
        ref = np_ergotropy_family(rho, H)[name]  # reference: NumPy passive/active states
        got = getattr(qb, name)(jnp.asarray(rho), jnp.asarray(H))
        assert got.shape == ()
        np.testing.assert_allclose(float(got), ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_batched_broadcasting(name):
    rng = np.random.default_rng(7)
    d = 3
    rho = rand_dm(rng, d, batch=(4, 1))  # (4, 1, d, d)
    H = rand_herm(rng, d, batch=(5,))  # (5, d, d) -> broadcast to (4, 5)
    got = np.asarray(getattr(qb, name)(rho, H))
    assert got.shape == (4, 5)
    # reference: NumPy loop over the broadcast batch
    ref = np.array([[np_ergotropy_family(rho[i, 0], H[j])[name] for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-12)
    # one H for a batch of states
    got1 = np.asarray(getattr(qb, name)(rho[:, 0], H[0]))
    np.testing.assert_allclose(got1, ref[:, 0], rtol=1e-11, atol=1e-12)


def test_jit_vmap_agree():
    rng = np.random.default_rng(3)
    rho = jnp.asarray(rand_dm(rng, 4, batch=(6,)))
    H = jnp.asarray(rand_herm(rng, 4))
    direct = qb.ergotropy(rho, H)
    np.testing.assert_allclose(jax.jit(qb.ergotropy)(rho, H), direct, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(jax.vmap(qb.ergotropy, (0, None))(rho, H), direct, rtol=1e-13, atol=1e-14)


def test_closed_form_qubit():
    # closed form: a qubit with H = diag(0, w) and Bloch vector r: E = w (1 - z)/2,
    # ergotropy = w (|r| - z)/2, capacity = w |r|  (z = Bloch z component, |0> = +z)
    w = 1.7
    H = jnp.diag(jnp.array([0.0, w]))
    for x, y, z in [(0.3, -0.2, 0.5), (0.0, 0.0, -0.9), (0.6, 0.0, 0.0)]:
        rho = 0.5 * jnp.array([[1 + z, x - 1j * y], [x + 1j * y, 1 - z]])
        r = np.sqrt(x * x + y * y + z * z)
        np.testing.assert_allclose(qb.energy(rho, H), w * (1 - z) / 2, atol=1e-14)
        np.testing.assert_allclose(qb.ergotropy(rho, H), w * (r - z) / 2, atol=1e-14)
        np.testing.assert_allclose(qb.capacity(rho, H), w * r, atol=1e-14)


# ---------------------------------------------------------------- hypothesis properties

_state = st.tuples(st.integers(2, 5), st.integers(0, 2**31 - 1), st.integers(1, 5))


def _draw(d, seed, rank):
    rng = np.random.default_rng(seed)
    return rand_dm(rng, d, rank=min(rank, d)), rand_herm(rng, d), rng


@settings(max_examples=30, deadline=None)
@given(_state)
def test_property_bounds(s):
    # 0 <= ergotropy <= E - e_min (ABN: the passive energy is >= the ground energy); antiergotropy <= 0;
    # capacity = active - passive
    rho, H, _ = _draw(*s)
    e_min = np.linalg.eigvalsh(H)[0]
    E = float(qb.energy(rho, H))
    erg = float(qb.ergotropy(rho, H))
    assert -1e-12 <= erg <= E - e_min + 1e-12
    assert float(qb.antiergotropy(rho, H)) <= 1e-12
    np.testing.assert_allclose(
        qb.capacity(rho, H), qb.active_energy(rho, H) - qb.passive_energy(rho, H), atol=1e-12
    )
    assert float(qb.capacity(rho, H)) >= -1e-12


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_property_zero_on_passive_states(d, seed):
    # a passive state: diagonal in H's eigenbasis, populations decreasing with energy -> ergotropy 0,
    # and its energy equals the passive energy
    rng = np.random.default_rng(seed)
    H = rand_herm(rng, d)
    _, V = np.linalg.eigh(H)
    p = np.sort(rng.dirichlet(np.ones(d)))[::-1]
    rho = V @ np.diag(p) @ V.conj().T
    assert abs(float(qb.ergotropy(rho, H))) <= 1e-12
    # and the population-reversed (active) state has zero antiergotropy
    rho_a = V @ np.diag(p[::-1]) @ V.conj().T
    assert abs(float(qb.antiergotropy(rho_a, H))) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(_state)
def test_property_invariance_under_commuting_unitaries(s):
    # U = V diag(e^{i phi}) V^dag commutes with H: the energy and the spectrum of rho are unchanged,
    # hence so is every member of the family
    rho, H, rng = _draw(*s)
    d = rho.shape[0]
    _, V = np.linalg.eigh(H)
    U = V @ np.diag(np.exp(1j * rng.uniform(0, 2 * np.pi, d))) @ V.conj().T
    rho2 = U @ rho @ U.conj().T
    for name in NAMES:
        f = getattr(qb, name)
        np.testing.assert_allclose(f(rho2, H), f(rho, H), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_property_invariance_degenerate_block(seed):
    # degenerate H = diag(0, 1, 1, 2): any unitary on the degenerate block commutes with H
    rng = np.random.default_rng(seed)
    H = np.diag([0.0, 1.0, 1.0, 2.0])
    U = np.eye(4, dtype=complex)
    U[1:3, 1:3] = rand_unitary(rng, 2)
    rho = rand_dm(rng, 4)
    rho2 = U @ rho @ U.conj().T
    np.testing.assert_allclose(qb.ergotropy(rho2, H), qb.ergotropy(rho, H), atol=1e-12)
    np.testing.assert_allclose(qb.ergotropy(rho, H), np_ergotropy_family(rho, H)["ergotropy"], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(_state)
def test_property_unitary_orbit(s):
    # for ANY unitary U, passive and active energies (spectral functions) are unchanged, and the energy
    # of U rho U^dag lies between them (ABN)
    rho, H, rng = _draw(*s)
    U = rand_unitary(rng, rho.shape[0])
    rho2 = U @ rho @ U.conj().T
    np.testing.assert_allclose(qb.passive_energy(rho2, H), qb.passive_energy(rho, H), atol=1e-12)
    np.testing.assert_allclose(qb.active_energy(rho2, H), qb.active_energy(rho, H), atol=1e-12)
    E2 = float(qb.energy(rho2, H))
    assert float(qb.passive_energy(rho, H)) - 1e-12 <= E2 <= float(qb.active_energy(rho, H)) + 1e-12


# ---------------------------------------------------------------- gradients

def _rho_of(theta, W0, W1):
    W = W0 + theta * W1
    r = W @ jnp.conj(W.T)
    return r / jnp.trace(r)


def _central_fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ["ergotropy", "capacity", "passive_energy", "active_energy", "antiergotropy"])
def test_grad_wrt_rho_parameter_vs_fd(name):
    rng = np.random.default_rng(11)
    d = 4
    W0 = jnp.asarray(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    W1 = jnp.asarray(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    H = jnp.asarray(rand_herm(rng, d))
    f = lambda th: getattr(qb, name)(_rho_of(th, W0, W1), H)
    g = jax.grad(f)(0.3)
    ref = _central_fd(lambda th: float(f(th)), 0.3)  # reference: central finite difference
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["ergotropy", "capacity", "passive_energy"])
def test_grad_wrt_hamiltonian_parameter_vs_fd(name):
    rng = np.random.default_rng(12)
    d = 3
    rho = jnp.asarray(rand_dm(rng, d))
    H0 = jnp.asarray(rand_herm(rng, d))
    H1 = jnp.asarray(rand_herm(rng, d))
    f = lambda s: getattr(qb, name)(rho, H0 + s * H1)
    g = jax.grad(f)(0.2)
    ref = _central_fd(lambda s: float(f(s)), 0.2)  # reference: central finite difference
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-8)


def test_grad_batched_via_vmap():
    rng = np.random.default_rng(13)
    W0 = jnp.asarray(rng.normal(size=(3, 3)))
    W1 = jnp.asarray(rng.normal(size=(3, 3)))
    H = jnp.diag(jnp.array([0.0, 0.7, 1.5]))
    f = lambda th: qb.ergotropy(_rho_of(th, W0, W1), H)
    ths = jnp.array([-0.4, 0.1, 0.9])
    g = jax.vmap(jax.grad(f))(ths)
    ref = [_central_fd(lambda t: float(f(t)), float(t)) for t in ths]  # central finite differences
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_grad_finite_at_maximally_mixed(name):
    # rho = I/d: fully degenerate spectrum of rho; gradient w.r.t. a perturbation of rho and of H finite
    d = 4
    rng = np.random.default_rng(14)
    X = jnp.asarray(rand_herm(rng, d))
    X = X - jnp.trace(X) / d * jnp.eye(d)
    H = jnp.asarray(rand_herm(rng, d))
    f = lambda th: getattr(qb, name)(jnp.eye(d) / d + th * X, H)
    g = jax.grad(f)(0.0)
    assert np.isfinite(g)
    gH = jax.grad(lambda M: getattr(qb, name)(jnp.eye(d) / d, M))(H)
    assert np.all(np.isfinite(gH))
    grho = jax.grad(lambda R: getattr(qb, name)(R, H))(jnp.eye(d) / d + 0j)
    assert np.all(np.isfinite(grho))


@pytest.mark.parametrize("name", NAMES)
def test_grad_finite_at_degenerate_H(name):
    H = jnp.diag(jnp.array([0.0, 1.0, 1.0, 2.0]))
    rng = np.random.default_rng(15)
    rho = jnp.asarray(rand_dm(rng, 4))
    H1 = jnp.asarray(rand_herm(rng, 4))
    f = lambda s: getattr(qb, name)(rho, H + s * H1)
    g = jax.grad(f)(0.0)
    assert np.isfinite(g)
    gH = jax.grad(lambda M: getattr(qb, name)(rho, M))(H + 0j)
    assert np.all(np.isfinite(gH))
    # also both degenerate at once: rho = I/d with degenerate H
    g2 = jax.grad(lambda M: getattr(qb, name)(jnp.eye(4) / 4 + 0j, M))(H + 0j)
    assert np.all(np.isfinite(g2))


def test_grad_degenerate_H_vs_fd_along_degeneracy_preserving_direction():
    # d/ds of ergotropy(rho, H + s * diag(1, 0, 0, -1)) keeps the middle degeneracy: the function is
    # smooth there, so jax.grad must equal the central finite difference
    rng = np.random.default_rng(16)
    rho = jnp.asarray(rand_dm(rng, 4))
    H = jnp.diag(jnp.array([0.0, 1.0, 1.0, 2.0]))
    D = jnp.diag(jnp.array([1.0, 0.0, 0.0, -1.0]))
    for name in ["ergotropy", "capacity", "passive_energy"]:
        f = lambda s: getattr(qb, name)(rho, H + s * D)
        np.testing.assert_allclose(jax.grad(f)(0.0), _central_fd(lambda s: float(f(s)), 0.0), rtol=1e-6, atol=1e-9)
