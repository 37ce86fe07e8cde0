"""QuTiP interop: qb.from_qutip, qb.to_qutip and Qobj arguments of the core functions.

References: QuTiP itself (qutip.liouvillian, qutip.steadystate, qutip.mesolve, qutip.ptrace,
qutip.tracedist, qutip.concurrence, operator_to_vector), plain NumPy (the ergotropy family from the
explicit passive and active states, in _core_ref).
"""

import ast
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qbjax as qb
from qbjax._interop import vec_permutation
from _core_ref import np_ergotropy_family, rand_dm

ROOT = Path(__file__).resolve().parents[2]


def _open_system(seed=0, dims=(3,)):
    """A random Hamiltonian and a non-Hermitian jump operator on ``dims`` (Qobj), whose steady state
    is not a symmetric matrix (so that a transposed state would show)."""
    d = int(np.prod(dims))
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    B = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    qd = [list(dims), list(dims)]
    return qutip.Qobj(A + A.conj().T, dims=qd), qutip.Qobj(0.5 * B, dims=qd)


def test_steady_state_of_a_qutip_liouvillian_vs_qutip_steadystate():
    H, c = _open_system()
    L = qutip.liouvillian(H, [c])
    ref = qutip.steadystate(H, [c]).full()
    assert np.abs(ref - ref.T).max() > 1e-2  # not symmetric: a transposed answer would fail below
    np.testing.assert_allclose(qb.steady_state(qb.from_qutip(L)), ref, atol=1e-10)
    np.testing.assert_allclose(qb.steady_state(L), ref, atol=1e-10)  # a Qobj superoperator directly
    # the raw column-stacking array: the transposed state, itself a valid state (undetectable)
    np.testing.assert_allclose(qb.steady_state(L.full()), ref.T, atol=1e-10)


@pytest.mark.parametrize("dims", [(3,), (2, 3)])
def test_to_qutip_of_qb_liouvillian_equals_qutip_liouvillian(dims):
    H, c = _open_system(1, dims)
    L = qb.liouvillian(H.full(), [c.full()])
    ref = qutip.liouvillian(H, [c])
    q = qb.to_qutip(L, dims=ref.dims)
    assert q.superrep == "super" and q.dims == ref.dims
    np.testing.assert_allclose(q.full(), ref.full(), atol=1e-12)
    assert qb.to_qutip(L, kind="super").dims == [[[int(np.prod(dims))]] * 2] * 2  # default dims
    np.testing.assert_allclose(qutip.steadystate(q).full(), qutip.steadystate(ref).full(), atol=1e-10)
    # and back, with qbjax's own Liouvillian from Qobj arguments
    np.testing.assert_allclose(qb.from_qutip(ref), L, atol=1e-12)
    np.testing.assert_allclose(qb.liouvillian(H, [c]), L, atol=1e-12)


def test_vec_permutation_maps_column_stacking_to_row_major():
    rho = qutip.rand_dm(3, seed=2)
    col = qutip.operator_to_vector(rho).full().ravel()
    np.testing.assert_array_equal(col[vec_permutation(3)], rho.full().reshape(-1))
    np.testing.assert_allclose(qb.from_qutip(qutip.operator_to_vector(rho)), qb.vec(rho.full()), atol=0)
    p = vec_permutation(3)
    np.testing.assert_array_equal(p[p], np.arange(9))  # an involution: the same map back


def test_round_trips_keep_values_and_dims():
    rng = np.random.default_rng(3)
    ket = qutip.rand_ket([2, 3], seed=4)
    op = qutip.tensor(qutip.destroy(2), qutip.num(3))
    H, c = _open_system(5, (2, 2))
    sup = qutip.liouvillian(H, [c])
    for q in (ket, ket.dag(), op, sup):
        back = qb.to_qutip(qb.from_qutip(q), dims=q.dims)
        assert back.dims == q.dims and back.type == q.type, q.type
        np.testing.assert_allclose(back.full(), q.full(), atol=1e-14)
    assert qb.from_qutip(ket).shape == (6,)
    assert qb.to_qutip(qb.from_qutip(ket)).dims == [[6], [1]]  # 1-D: a ket by default
    x = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    for kind in ("oper", "super"):
        np.testing.assert_allclose(qb.from_qutip(qb.to_qutip(x, kind=kind)), x, atol=0)
    psi = rng.normal(size=5) + 0j
    np.testing.assert_allclose(qb.from_qutip(qb.to_qutip(psi, kind="bra")), psi, atol=0)


def test_batched_arrays_give_lists_of_qobj():
    rho = rand_dm(np.random.default_rng(6), 2, batch=(3,))
    out = qb.to_qutip(rho)
    assert isinstance(out, list) and len(out) == 3
    for q, r in zip(out, rho):
        np.testing.assert_allclose(q.full(), r, atol=0)
    kets = qb.to_qutip(np.ones((2, 3, 4)) / 2, kind="ket", dims=[[2, 2], [1]])
    assert len(kets) == 2 and len(kets[0]) == 3 and kets[1][2].dims == [[2, 2], [1]]
    np.testing.assert_allclose(qb.from_qutip(out), rho, atol=0)  # a list of Qobj is stacked
    with pytest.raises(ValueError, match="superoperator must have shape"):
        qb.to_qutip(np.eye(3), kind="super")
    with pytest.raises(ValueError, match="kind must be"):
        qb.to_qutip(np.eye(2), kind="matrix")


def test_core_functions_take_qobj_arguments():
    rho, H = qutip.rand_dm(3, seed=7), qutip.num(3)
    ref = np_ergotropy_family(rho.full(), H.full())  # NumPy, explicit passive/active states
    for name in ("ergotropy", "energy", "passive_energy", "active_energy", "antiergotropy", "capacity"):
        np.testing.assert_allclose(getattr(qb, name)(rho, H), ref[name], atol=1e-12, err_msg=name)
    np.testing.assert_allclose(qb.purity(rho), (rho * rho).tr().real, atol=1e-12)
    sigma = qutip.rand_dm(3, seed=8)
    np.testing.assert_allclose(qb.trace_distance(rho, sigma), qutip.tracedist(rho, sigma), atol=1e-10)
    two = qutip.rand_dm([2, 2], seed=9)
    np.testing.assert_allclose(qb.concurrence(two), qutip.concurrence(two), atol=1e-10)
    big = qutip.rand_dm([2, 3], seed=10)
    np.testing.assert_allclose(qb.partial_trace(big, (2, 3), 1), big.ptrace(1).full(), atol=1e-12)
    np.testing.assert_allclose(qb.ket2dm(qutip.basis(3, 1)), qutip.fock_dm(3, 1).full(), atol=0)


def test_evolve_takes_a_qobj_superoperator_and_state_vs_qutip_mesolve():
    H, c = _open_system(11, (2,))
    rho0 = qutip.rand_dm(2, seed=12)
    ts = np.array([0.0, 0.7, 1.5])
    got = qb.evolve(qutip.liouvillian(H, [c]), rho0, ts, solver="expm")
    ref = qutip.mesolve(H, rho0, ts, [c], options={"atol": 1e-12, "rtol": 1e-10}).states
    np.testing.assert_allclose(got, np.stack([s.full() for s in ref]), atol=1e-8)


def test_unsupported_qutip_objects_raise_clear_errors():
    H, c = _open_system(13, (2,))
    L = qutip.liouvillian(H, [c])
    with pytest.raises(ValueError, match="superrep 'choi'.*qutip.to_super"):
        qb.steady_state(qutip.to_choi(L))
    with pytest.raises(ValueError, match="QobjEvo"):
        qb.from_qutip(qutip.QobjEvo([H, [c + c.dag(), lambda t: np.cos(t)]]))
    with pytest.raises(ValueError, match="expects a qutip.Qobj"):
        qb.from_qutip(np.eye(2))
    # a raw Choi matrix is not trace preserving in any vec convention: the message points to from_qutip
    with pytest.raises(ValueError, match="not trace preserving.*column-stacking convention.*qb.from_qutip"):
        qb.steady_state(qutip.to_choi(L).full())


def test_qbjax_needs_no_qutip(monkeypatch):
    """No module imports QuTiP at import time; without QuTiP the core runs and to_qutip says what is
    missing."""
    for path in sorted((ROOT / "qbjax").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module-level imports only (to_qutip imports it when called)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "qutip" for n in names), path
    monkeypatch.setitem(sys.modules, "qutip", None)  # import qutip now raises ImportError
    np.testing.assert_allclose(qb.ergotropy(jnp.diag(jnp.array([0.0, 1.0])), np.diag([0.0, 1.0])), 1.0)
    with pytest.raises(ImportError, match="pip install qutip"):
        qb.to_qutip(np.eye(2))
