"""Superoperators (row-major vec) and steady states.

References: NumPy matrix products (vec identities, the Lindblad right-hand side applied to rho
directly), qutip.liouvillian (column-stacking vec: compared by their action on a random rho),
qutip.steadystate, the Gibbs state (closed form), NumPy null spaces, central finite differences.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qbjax as qb
from qbjax._steady import null_vector
from qbjax._superop import spost, spre, sprepost, trace_vector, unvec, vec
from _core_ref import np_lindblad_rhs, np_vec, rand_dm, rand_herm, rand_unitary

SM = np.array([[0.0, 1.0], [0.0, 0.0]])  # sigma_- = |0><1| in the basis (|0>, |1>) with H = diag(0, w)


def _rand_ops(rng, d, k):
    return [rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)) for _ in range(k)]


def test_vec_identities_vs_numpy():
    rng = np.random.default_rng(0)
    d = 3
    A, B, R = _rand_ops(rng, d, 3)
    np.testing.assert_allclose(vec(R), np_vec(R))  # row-major: rho.reshape(d*d)
    np.testing.assert_allclose(unvec(vec(R)), R)
    np.testing.assert_allclose(spre(A) @ np_vec(R), np_vec(A @ R), atol=1e-12)
    np.testing.assert_allclose(spost(B) @ np_vec(R), np_vec(R @ B), atol=1e-12)
    np.testing.assert_allclose(sprepost(A, B) @ np_vec(R), np_vec(A @ R @ B), atol=1e-12)
    np.testing.assert_allclose(trace_vector(d) @ np_vec(R), np.trace(R), atol=1e-12)
    # batched spre
    As = np.stack([A, B])
    np.testing.assert_allclose(spre(As), np.stack([np.kron(A, np.eye(d)), np.kron(B, np.eye(d))]))


@pytest.mark.parametrize("d,k", [(2, 1), (3, 2), (4, 3)])
def test_liouvillian_vs_qutip_and_numpy(d, k):
    rng = np.random.default_rng(10 * d + k)
    H = rand_herm(rng, d)
    cs = _rand_ops(rng, d, k)
    rho = rand_dm(rng, d)
    L = np.asarray(qb.liouvillian(H, cs))
    assert L.shape == (d * d, d * d)
    got = np.asarray(unvec(L @ np_vec(rho)))
    # NumPy: the Lindblad right-hand side applied to rho directly
    np.testing.assert_allclose(got, np_lindblad_rhs(rho, H, cs), atol=1e-12)
    # QuTiP (column-stacking vec): compare the action on rho, not the matrices
    Lq = qutip.liouvillian(qutip.Qobj(H), [qutip.Qobj(c) for c in cs])
    ref = qutip.vector_to_operator(Lq * qutip.operator_to_vector(qutip.Qobj(rho))).full()
    np.testing.assert_allclose(got, ref, atol=1e-12)
    # matrices agree up to the row/column-major permutation P vec_col = vec_row
    P = np.zeros((d * d, d * d))
    for i in range(d):
        for j in range(d):
            P[i * d + j, j * d + i] = 1.0
    np.testing.assert_allclose(L, P @ Lq.full() @ P.T, atol=1e-12)
    # trace preservation: <<1| L = 0
    np.testing.assert_allclose(trace_vector(d) @ L, 0.0, atol=1e-12)


def test_liouvillian_batched_and_array_jump_ops():
    rng = np.random.default_rng(1)
    d = 2
    Hs = rand_herm(rng, d, batch=(3,))
    c = _rand_ops(rng, d, 2)
    got = qb.liouvillian(Hs, c)  # (3, 4, 4): jump ops broadcast against the batch of H
    assert got.shape == (3, 4, 4)
    for i in range(3):  # reference: the unbatched call in a loop
        np.testing.assert_allclose(got[i], qb.liouvillian(Hs[i], c), atol=1e-14)
    np.testing.assert_allclose(qb.liouvillian(Hs[0], np.stack(c)), qb.liouvillian(Hs[0], c), atol=1e-14)
    np.testing.assert_allclose(qb.liouvillian(Hs[0], []), qb.liouvillian(Hs[0]), atol=0)


# ---------------------------------------------------------------- steady states

def _thermal_qubit(w, T, gamma):
    n = float(qb.bose_einstein(w, T)) if T > 0 else 0.0
    H = np.diag([0.0, w])
    return qb.liouvillian(H, [np.sqrt(gamma * (n + 1)) * SM, np.sqrt(gamma * n) * SM.T])


@pytest.mark.parametrize("T", [0.0, 0.1, 0.5, 1.0, 4.0])
def test_thermal_qubit_is_gibbs(T):
    w, gamma = 1.3, 0.2
    rho = np.asarray(qb.steady_state(_thermal_qubit(w, T, gamma)))
    # closed form: Gibbs state diag(1, e^{-w/T}) / Z (ground state at T = 0)
    p1 = 0.0 if T == 0 else np.exp(-w / T) / (1 + np.exp(-w / T))
    np.testing.assert_allclose(rho, np.diag([1 - p1, p1]), atol=1e-13)


def test_thermal_qutrit_is_gibbs():
    # closed form: a ladder with detailed-balanced rates relaxes to the Gibbs state exp(-H/T)/Z
    E, T = np.array([0.0, 0.7, 1.9]), 0.8
    H = np.diag(E)
    ops = []
    for i, j in [(0, 1), (1, 2), (0, 2)]:
        w = E[j] - E[i]
        n = 1 / np.expm1(w / T)
        lower = np.zeros((3, 3))
        lower[i, j] = 1.0
        ops += [np.sqrt(0.3 * (n + 1)) * lower, np.sqrt(0.3 * n) * lower.T]
    rho = qb.steady_state(qb.liouvillian(H, ops))
    p = np.exp(-E / T)
    np.testing.assert_allclose(rho, np.diag(p / p.sum()), atol=1e-13)


@pytest.mark.parametrize("omega,delta,gamma", [(1.0, 0.0, 0.5), (0.7, 0.4, 1.3), (2.5, -1.0, 0.3)])
def test_driven_damped_qubit_vs_qutip(omega, delta, gamma):
    sx = np.array([[0, 1], [1, 0]])
    sz = np.diag([1.0, -1.0])
    H = 0.5 * delta * sz + 0.5 * omega * sx
    c = np.sqrt(gamma) * SM
    rho = np.asarray(qb.steady_state(qb.liouvillian(H, [c])))
    ref = qutip.steadystate(qutip.Qobj(H), [qutip.Qobj(c)]).full()  # QuTiP
    np.testing.assert_allclose(rho, ref, atol=1e-10)
    # closed form (optical Bloch equations, resonant case): excited population
    # rho_11 = Omega^2 / (gamma^2 + 2 Omega^2 + 4 Delta^2)   (|1> = excited here since SM = |0><1|)
    np.testing.assert_allclose(rho[1, 1], omega**2 / (gamma**2 + 2 * omega**2 + 4 * delta**2), atol=1e-12)
    assert np.isclose(np.trace(rho), 1.0, atol=1e-14)
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-15)


def test_steady_state_random_lindbladian_vs_qutip():
    rng = np.random.default_rng(4)
    d = 4
    H = rand_herm(rng, d)
    cs = _rand_ops(rng, d, 2)
    rho = np.asarray(qb.steady_state(qb.liouvillian(H, cs)))
    ref = qutip.steadystate(qutip.Qobj(H), [qutip.Qobj(c) for c in cs]).full()  # QuTiP
    np.testing.assert_allclose(rho, ref, atol=1e-10)
    # and it is annihilated by the NumPy Lindblad right-hand side
    np.testing.assert_allclose(np_lindblad_rhs(rho, H, cs), 0.0, atol=1e-11)


def test_batched_steady_state_equals_loop():
    rng = np.random.default_rng(5)
    d = 3
    Hs = rand_herm(rng, d, batch=(2, 3))
    cs = [rng.normal(size=(2, 3, d, d)) + 1j * rng.normal(size=(2, 3, d, d)) for _ in range(2)]
    L = qb.liouvillian(Hs, cs)  # (2, 3, 9, 9)
    rho = np.asarray(qb.steady_state(L))
    assert rho.shape == (2, 3, d, d)
    for i in range(2):
        for j in range(3):  # reference: the unbatched solve in a Python loop
            np.testing.assert_allclose(rho[i, j], qb.steady_state(L[i, j]), atol=1e-13)
    np.testing.assert_allclose(jax.jit(qb.steady_state)(L), rho, atol=1e-13)
    np.testing.assert_allclose(jax.vmap(jax.vmap(qb.steady_state))(L), rho, atol=1e-13)


def test_steady_state_gradient_vs_fd():
    # d <sigma_z>_ss / d Omega for the driven damped qubit vs the closed form derivative and central FD
    gamma, delta = 0.8, 0.3
    sx = jnp.array([[0, 1], [1, 0]], dtype=complex)
    sz = jnp.diag(jnp.array([1.0, -1.0]))

    @jax.jit
    def pe(omega):
        H = 0.5 * delta * sz + 0.5 * omega * sx
        return jnp.real(qb.steady_state(qb.liouvillian(H, [jnp.sqrt(gamma) * SM]))[1, 1])

    om = 0.9
    g = jax.grad(pe)(om)
    closed = lambda o: o**2 / (gamma**2 + 2 * o**2 + 4 * delta**2)  # optical Bloch closed form
    h = 1e-5
    np.testing.assert_allclose(g, (closed(om + h) - closed(om - h)) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(g, (pe(om + h) - pe(om - h)) / (2 * h), rtol=1e-8)


def test_null_vector_classical_generator_vs_numpy():
    # a 3-state rate matrix (columns sum to 0), trace functional (1, 1, 1); reference: NumPy SVD null space
    rng = np.random.default_rng(6)
    W = rng.uniform(0.1, 2.0, size=(3, 3))
    np.fill_diagonal(W, 0.0)
    G = W - np.diag(W.sum(axis=0))
    x = np.asarray(null_vector(G, np.ones(3)))
    _, _, vh = np.linalg.svd(G)
    ref = vh[-1].conj() / vh[-1].conj().sum()
    np.testing.assert_allclose(x, ref, atol=1e-13)


def _two_dark_states(rng, rotate):
    # |2> decays to |0> and to |1>: every state on span(|0>, |1>) is stationary (non-unique)
    H = np.diag([0.0, 0.0, 2.0])
    c1 = np.zeros((3, 3))
    c1[0, 2] = 1.0
    c2 = np.zeros((3, 3))
    c2[1, 2] = 0.7
    ops = [H, c1, c2]
    if rotate:  # the same physics in a random basis: the singularity appears only up to round-off
        U = rand_unitary(rng, 3)
        ops = [U @ o @ U.conj().T for o in ops]
    return qb.liouvillian(ops[0], ops[1:])


@pytest.mark.parametrize("case", ["closed_qubit", "two_dark", "two_dark_rotated", "two_dark_rotated_2"])
def test_non_unique_steady_state_raises(case):
    rng = np.random.default_rng(7 if case.endswith("2") else 8)
    if case == "closed_qubit":
        L = qb.liouvillian(np.diag([0.0, 1.0]), [])  # no dissipation: every diagonal state is stationary
    else:
        L = _two_dark_states(rng, rotate="rotated" in case)
    with pytest.raises(Exception, match="no unique steady state"):
        jax.block_until_ready(qb.steady_state(L))
    with pytest.raises(Exception, match="no unique steady state"):
        jax.block_until_ready(jax.jit(qb.steady_state)(L))


def test_operator_form_rhs_equals_the_liouvillian_matvec():
    # lindblad_rhs(H, A, rho) is L vec(rho) without the (d^2, d^2) matrix; checked against liouvillian
    from qbjax._superop import lindblad_rhs, vec

    rng = np.random.default_rng(3)
    d = 5
    H = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    H = H + H.conj().T
    A = rng.normal(size=(2, 3, d, d)) + 1j * rng.normal(size=(2, 3, d, d))  # a batch of 2, K = 3
    rates = rng.uniform(size=(2, 3))
    rho = rng.normal(size=(2, d, d)) + 1j * rng.normal(size=(2, d, d))
    dense = np.einsum("bij,bj->bi", qb.liouvillian(H, A, rates=rates), vec(rho))
    np.testing.assert_allclose(vec(lindblad_rhs(H, A, rho, rates=rates)), dense, atol=1e-13)
    dense = np.einsum("bij,bj->bi", qb.liouvillian(H, A), vec(rho))
    np.testing.assert_allclose(vec(lindblad_rhs(H, A, rho)), dense, atol=1e-13)
