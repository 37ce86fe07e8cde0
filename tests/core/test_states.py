"""State functionals: purity, trace distance, concurrence, partial trace, basis helpers.

References: NumPy (trace of rho^2, nuclear norm, the Wootters recipe with the non-Hermitian eigenvalues
of rho (sy x sy) rho* (sy x sy), reshapes + np.trace), QuTiP (concurrence, ptrace) and closed forms
(Bell states, product states, Werner states).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qbjax as qb
from qbjax._states import basis, ket2dm, tensor
from _core_ref import rand_dm, rand_unitary

SY = np.array([[0, -1j], [1j, 0]])
YY = np.kron(SY, SY)


def np_concurrence(rho):
    """Wootters (PRL 80, 2245): lambda_k = sqrt of the eigenvalues of rho (sy sy) rho^* (sy sy), decreasing."""
    R = rho @ YY @ rho.conj() @ YY
    lam = np.sqrt(np.clip(np.sort(np.linalg.eigvals(R).real)[::-1], 0, None))
    return max(0.0, lam[0] - lam[1] - lam[2] - lam[3])


def np_ptrace(rho, dims, keep):
    """Partial trace by reshape + repeated np.trace (trace out the highest index first)."""
    n = len(dims)
    t = rho.reshape(tuple(dims) * 2)
    for i in sorted(set(range(n)) - set(keep), reverse=True):
        m = t.ndim // 2
        t = np.trace(t, axis1=i, axis2=i + m)
    dk = int(np.prod([dims[i] for i in sorted(keep)]))
    return t.reshape(dk, dk)


# ---------------------------------------------------------------- purity, trace distance

@pytest.mark.parametrize("d", [2, 3, 5])
def test_purity_vs_numpy(d):
    rng = np.random.default_rng(d)
    rho = rand_dm(rng, d, batch=(3,))
    ref = np.einsum("bij,bji->b", rho, rho).real  # NumPy Tr(rho^2)
    np.testing.assert_allclose(qb.purity(rho), ref, rtol=1e-13)
    np.testing.assert_allclose(qb.purity(jnp.eye(d) / d), 1 / d, rtol=1e-14)  # closed form: 1/d
    np.testing.assert_allclose(qb.purity(rand_dm(rng, d, rank=1)), 1.0, rtol=1e-13)  # pure: 1


@pytest.mark.parametrize("d", [2, 3, 5])
def test_trace_distance_vs_numpy(d):
    rng = np.random.default_rng(10 + d)
    a = rand_dm(rng, d, batch=(4,))
    b = rand_dm(rng, d, batch=(4,))
    ref = [0.5 * np.linalg.norm(a[i] - b[i], "nuc") for i in range(4)]  # NumPy nuclear norm / 2
    np.testing.assert_allclose(qb.trace_distance(a, b), ref, rtol=1e-12)
    # broadcasting one state against a batch
    np.testing.assert_allclose(qb.trace_distance(a, b[0]), [0.5 * np.linalg.norm(x - b[0], "nuc") for x in a], rtol=1e-12)
    assert abs(float(qb.trace_distance(a[0], a[0]))) < 1e-14


def test_trace_distance_closed_forms():
    # orthogonal pure states -> 1; qubits: D = |r1 - r2| / 2 (Bloch vectors)
    assert np.isclose(float(qb.trace_distance(np.diag([1.0, 0]), np.diag([0, 1.0]))), 1.0)
    r1, r2 = np.array([0.3, 0.1, -0.5]), np.array([-0.2, 0.4, 0.2])
    sig = [np.array([[0, 1], [1, 0]]), SY, np.diag([1, -1])]
    bloch = lambda r: 0.5 * (np.eye(2) + sum(ri * s for ri, s in zip(r, sig)))
    np.testing.assert_allclose(qb.trace_distance(bloch(r1), bloch(r2)), np.linalg.norm(r1 - r2) / 2, rtol=1e-13)


# ---------------------------------------------------------------- concurrence

def _bell_states():
    s = 1 / np.sqrt(2)
    return [
        np.array([1, 0, 0, 1]) * s,
        np.array([1, 0, 0, -1]) * s,
        np.array([0, 1, 1, 0]) * s,
        np.array([0, 1, -1, 0]) * s,
    ]


def test_concurrence_bell_and_product():
    for psi in _bell_states():  # closed form: Bell states are maximally entangled, C = 1
        np.testing.assert_allclose(qb.concurrence(np.outer(psi, psi.conj())), 1.0, atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):  # closed form: product states (pure or mixed) have C = 0
        rho = np.kron(rand_dm(rng, 2), rand_dm(rng, 2))
        assert abs(float(qb.concurrence(rho))) < 1e-7
        a = rand_dm(rng, 2, rank=1)
        assert abs(float(qb.concurrence(np.kron(a, rand_dm(rng, 2, rank=1))))) < 1e-7


def test_concurrence_pure_state_closed_form():
    # closed form: |psi> = cos(t)|00> + e^{i p} sin(t)|11> (and local unitaries of it) has C = |sin 2t|
    rng = np.random.default_rng(1)
    for t in [0.1, 0.5, 1.2, 2.0]:
        psi = np.array([np.cos(t), 0, 0, np.exp(0.7j) * np.sin(t)])
        U = np.kron(rand_unitary(rng, 2), rand_unitary(rng, 2))
        psi = U @ psi
        np.testing.assert_allclose(qb.concurrence(np.outer(psi, psi.conj())), abs(np.sin(2 * t)), atol=1e-10)


def test_concurrence_werner_closed_form():
    # closed form: Werner state p |Bell><Bell| + (1 - p) I/4 has C = max(0, (3p - 1)/2)
    psi = _bell_states()[0]
    ps = np.linspace(0.0, 1.0, 11)
    rho = np.stack([p * np.outer(psi, psi) + (1 - p) * np.eye(4) / 4 for p in ps])
    np.testing.assert_allclose(qb.concurrence(rho), np.maximum(0, (3 * ps - 1) / 2), atol=1e-12)


def test_concurrence_random_vs_numpy_and_qutip():
    rng = np.random.default_rng(2)
    rhos = np.concatenate([rand_dm(rng, 4, rank=r, batch=(4,)) for r in (1, 2, 4)])
    got = np.asarray(qb.concurrence(rhos))
    ref = np.array([np_concurrence(r) for r in rhos])  # NumPy Wootters, non-Hermitian eigenvalues
    ref_qt = np.array([qutip.concurrence(qutip.Qobj(r, dims=[[2, 2], [2, 2]])) for r in rhos])  # QuTiP
    assert got.shape == (12,)
    assert np.any(ref > 0.05)  # the sample holds entangled states
    np.testing.assert_allclose(got, ref, atol=1e-7)
    np.testing.assert_allclose(got, ref_qt, atol=1e-7)


def test_concurrence_jit_and_grad_finite_for_mixed():
    rng = np.random.default_rng(3)
    rho0 = jnp.asarray(rand_dm(rng, 4))
    psi = jnp.asarray(_bell_states()[0])
    f = lambda p: qb.concurrence(p * jnp.outer(psi, psi) + (1 - p) * rho0)
    g = jax.grad(f)(0.8)
    h = 1e-6
    np.testing.assert_allclose(g, (f(0.8 + h) - f(0.8 - h)) / (2 * h), rtol=1e-5)  # central FD
    np.testing.assert_allclose(jax.jit(qb.concurrence)(rho0), qb.concurrence(rho0), atol=1e-14)


# ---------------------------------------------------------------- partial trace

CASES = [
    ((2, 3), [0]),
    ((2, 3), [1]),
    ((3, 2), (1, 0)),
    ((2, 2, 2), [1]),
    ((2, 2, 2), [0, 2]),
    ((2, 2, 2), [2, 0]),
    ((3, 2, 4), [0, 2]),
    ((3, 2, 4), [2, 1]),
    ((2, 3, 2, 2), [3, 1]),
]


@pytest.mark.parametrize("dims,keep", CASES)
def test_partial_trace_vs_numpy_and_qutip(dims, keep):
    rng = np.random.default_rng(sum(dims) + len(keep))
    D = int(np.prod(dims))
    rho = rand_dm(rng, D)
    got = np.asarray(qb.partial_trace(rho, dims, keep))
    np.testing.assert_allclose(got, np_ptrace(rho, dims, keep), atol=1e-14)  # NumPy reshape/trace
    # QuTiP ptrace also returns the kept subsystems in increasing index order
    ref_qt = qutip.Qobj(rho, dims=[list(dims), list(dims)]).ptrace(sorted(keep)).full()
    np.testing.assert_allclose(got, ref_qt, atol=1e-14)


def test_partial_trace_scalar_keep_batched_and_product():
    rng = np.random.default_rng(5)
    a, b = rand_dm(rng, 2, batch=(3,)), rand_dm(rng, 3, batch=(3,))
    rho = np.einsum("bij,bkl->bikjl", a, b).reshape(3, 6, 6)  # batched kron
    # closed form: Tr_B (a x b) = a, Tr_A (a x b) = b
    np.testing.assert_allclose(qb.partial_trace(rho, (2, 3), 0), a, atol=1e-14)
    np.testing.assert_allclose(qb.partial_trace(rho, [2, 3], [1]), b, atol=1e-14)
    np.testing.assert_allclose(qb.partial_trace(rho, (2, 3), (0, 1)), rho, atol=1e-14)
    out = jax.jit(lambda r: qb.partial_trace(r, (2, 3), 1))(jnp.asarray(rho))
    np.testing.assert_allclose(out, b, atol=1e-14)


def test_basis_ket2dm_tensor():
    # vs NumPy kron / outer
    k = basis(3, 1)
    np.testing.assert_array_equal(np.asarray(k), [0, 1, 0])
    psi = np.array([0.6, 0.8j])
    np.testing.assert_allclose(ket2dm(psi), np.outer(psi, psi.conj()))
    A, B, C = np.diag([1, 2]), np.array([[0, 1], [1, 0]]), np.eye(3)
    np.testing.assert_allclose(tensor(A, B, C), np.kron(np.kron(A, B), C))
    np.testing.assert_allclose(ket2dm(np.stack([psi, psi[::-1]])), np.stack([np.outer(psi, psi.conj()), np.outer(psi[::-1], psi[::-1].conj())]))
