"""Tests of qbjax.models.MultiCellBattery (issue 8, paper 001).

Every reference value is computed here, independently of qbjax:
* ``_ref_lindblad``: the global secular master equation of the paper's Eqs. (4)-(6) built by hand with QuTiP objects
  (``qt.tensor`` of Pauli matrices; Bohr frequencies grouped by Python-side rounding; QuTiP's
  ``steadystate``), with the lowering-operator erratum (A_i(w) lowers the energy; the paper prints a raising one);
* ``_ref_bloch_redfield``: QuTiP's Bloch-Redfield tensor (``qt.bloch_redfield_tensor``, secular cutoff
  1e-6) with the Ohmic spectrum S(w) = kappa w (1 + n(w)), S(-w) = kappa w n(w), then ``steadystate``;
* Gibbs states exp(-H/T)/Z from SciPy's ``expm`` of the test's own Hamiltonian;
* ergotropy from NumPy's ``eigvalsh`` (ABN formula);
* gradients from central (or, at T = 0, one-sided) finite differences of those references.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

qt = pytest.importorskip("qutip")

import qbjax as qb  # noqa: E402
from qbjax.models.multi_cell import MultiCellBattery, three_cell, two_cell  # noqa: E402


# ---------------------------------------------------------------------------------------------
# independent references (QuTiP / NumPy)
# ---------------------------------------------------------------------------------------------
def _ops(n):
    sz, sx, eye = qt.sigmaz(), qt.sigmax(), qt.qeye(2)
    emb = lambda o, i: qt.tensor(*[o if j == i else eye for j in range(n)])  # noqa: E731
    return [emb(sz, i) for i in range(n)], [emb(sx, i) for i in range(n)]


def _ref_hamiltonian(omega, coupling):
    """H_S = sum_i w_i/2 sz_i + sum_{i<j} lam_ij/2 sz_i sz_j (QuTiP: sigmaz = diag(1, -1), |0> = up)."""
    n = len(omega)
    sz, _ = _ops(n)
    H = sum(omega[i] / 2 * sz[i] for i in range(n))
    for i in range(n):
        for j in range(i + 1, n):
            H = H + coupling[i][j] / 2 * sz[i] * sz[j]
    return H


def _nbar(w, T):
    return 0.0 if T == 0 or w / T > 700 else 1.0 / np.expm1(w / T)


def _ref_collapse(omega, coupling, T, kappa=1.0):
    """Per bath: the list of collapse operators sqrt(rate) A_i(w), sqrt(rate) A_i(w)^dag (paper Eq. 5,
    lowering A_i(w), the erratum of Eq. (5)), grouping equal Bohr frequencies by rounding to 1e-9."""
    n = len(omega)
    H = _ref_hamiltonian(omega, coupling)
    E = np.real(H.diag())
    _, sx = _ops(n)
    per_bath = []
    for i in range(n):
        X = sx[i].full()
        groups = {}
        for k in range(2**n):
            for m in range(2**n):
                w = E[m] - E[k]
                if abs(X[k, m]) > 0 and w > 1e-9:
                    key = round(w, 9)
                    groups.setdefault(key, np.zeros((2**n, 2**n), dtype=complex))
                    groups[key][k, m] += X[k, m]  # |k><k| sx_i |m><m|
        cs = []
        for w, A in groups.items():
            A = qt.Qobj(A, dims=H.dims)
            nb = _nbar(w, T[i])
            cs.append(np.sqrt(kappa * w * (1 + nb)) * A)
            if nb > 0:
                cs.append(np.sqrt(kappa * w * nb) * A.dag())
        per_bath.append(cs)
    return H, per_bath


def _ref_lindblad(omega, coupling, T, kappa=1.0):
    H, per_bath = _ref_collapse(omega, coupling, T, kappa)
    return qt.steadystate(H, [c for cs in per_bath for c in cs]).full()


def _ref_bloch_redfield(omega, coupling, T, kappa=1.0):
    n = len(omega)
    H = _ref_hamiltonian(omega, coupling)
    _, sx = _ops(n)

    def spectrum(Ti):
        def S(w):  # QuTiP 5 passes the frequency as the argument named "w"; w > 0: emission
            if w > 0:
                return kappa * w * (1 + _nbar(w, Ti))
            if w < 0:
                return kappa * (-w) * _nbar(-w, Ti)
            return 0.0

        return S

    R = qt.bloch_redfield_tensor(H, [(sx[i], spectrum(T[i])) for i in range(n)], sec_cutoff=1e-6, fock_basis=True)
    return qt.steadystate(R).full()


def _ref_ergotropy(rho, H):
    r = np.linalg.eigvalsh(rho)[::-1]
    e = np.linalg.eigvalsh(H)
    return float(np.real(np.trace(rho @ H)) - np.sum(r * e))


def _ref_erg3(TL, TM, TR, lam, w=1.0):
    c = lam * (1 - np.eye(3))
    rho = _ref_lindblad([w] * 3, c, [TL, TM, TR])
    return _ref_ergotropy(rho, _ref_hamiltonian([w] * 3, c).full())


def _random_params(rng, n, degenerate):
    if degenerate:  # equal splittings and equal couplings: degenerate Bohr frequencies (grouped A_i(w))
        w = rng.uniform(0.6, 1.4)
        omega = [w] * n
        lam = rng.uniform(-0.3, 0.3) * w
        coupling = lam * (1 - np.eye(n))
    else:
        omega = list(rng.uniform(0.5, 1.5, n))
        c = np.triu(rng.uniform(-0.4, 0.4, (n, n)), 1)
        coupling = c + c.T
    T = list(rng.uniform(0.0, 2.0, n))
    T[rng.integers(n)] = 0.0 if rng.random() < 0.5 else T[0]  # T = 0 baths, equal temperatures
    return omega, coupling, T


# compiled entry points shared by the tests (one compilation each per number of cells)
def _erg3_fn(p):
    return three_cell(p[0], p[1], p[2], p[3]).steady_ergotropy()


_grad3 = jax.jit(jax.grad(_erg3_fn))
_erg3_vmap_nan = jax.jit(jax.vmap(lambda a, b, c, l: three_cell(a, b, c, l).steady_ergotropy(degenerate="nan")))
_erg_traced = jax.jit(lambda om, c, T: MultiCellBattery(om, c, T).steady_ergotropy())  # "raise" path, traced


# ---------------------------------------------------------------------------------------------
# steady state vs QuTiP
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow)])  # three cells: -m slow; two by default
@pytest.mark.parametrize("degenerate", [False, True])
def test_steady_state_vs_qutip_lindblad(n, degenerate):
    rng = np.random.default_rng(100 * n + degenerate)
    for _ in range(4):
        omega, coupling, T = _random_params(rng, n, degenerate)
        kappa = rng.uniform(0.3, 2.0)
        m = MultiCellBattery(omega, coupling, T, kappa)
        rho = np.asarray(m.steady_state())
        ref = _ref_lindblad(omega, coupling, T, kappa)
        np.testing.assert_allclose(rho, ref, atol=1e-8, rtol=0)
        H = _ref_hamiltonian(omega, coupling).full()
        np.testing.assert_allclose(np.asarray(m.hamiltonian()), H, atol=1e-14)
        assert abs(float(m.steady_ergotropy()) - _ref_ergotropy(ref, H)) < 1e-8


@pytest.mark.parametrize("n", [2, 3])
def test_steady_state_vs_qutip_bloch_redfield(n):
    rng = np.random.default_rng(7 + n)
    for degenerate in (False, True):
        omega, coupling, T = _random_params(rng, n, degenerate)
        rho = np.asarray(MultiCellBattery(omega, coupling, T).steady_state())
        np.testing.assert_allclose(rho, _ref_bloch_redfield(omega, coupling, T), atol=1e-8, rtol=0)


def test_liouvillian_action_vs_qutip_with_degenerate_grouping():
    # three equal cells: the two L-flips at Bohr frequency w form ONE operator A_L(w) (cross terms act on
    # coherences between the degenerate states |u,ud>, |u,du>).  The steady state is diagonal either way
    # (single flips never feed coherences from populations), so compare the generator itself: its action
    # on a random Hermitian matrix vs QuTiP's ``liouvillian`` of the reference collapse operators.
    rng = np.random.default_rng(5)
    for omega, coupling, T in (([1.0] * 3, 0.2 * (1 - np.eye(3)), [1.5, 0.2, 0.7]), _random_params(rng, 3, False)):
        H, per_bath = _ref_collapse(omega, coupling, T)
        Lq = qt.liouvillian(H, [c for cs in per_bath for c in cs])
        X = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
        X = X + X.conj().T
        ref = qt.vector_to_operator(Lq * qt.operator_to_vector(qt.Qobj(X, dims=H.dims))).full()
        L = np.asarray(MultiCellBattery(omega, coupling, T).liouvillian())
        np.testing.assert_allclose((L @ X.reshape(-1)).reshape(8, 8), ref, atol=1e-12)


def test_paper_points_two_cell_spec_facts():
    # independent solver (the reference master equation above): zero at lam_LR = 0.1, ~0.04 at lam_LR = 1.2 (T_L = 2, T_R = 0)
    for lam, T in ((0.1, (2.0, 0.0)), (1.2, (2.0, 0.0)), (1.2, (0.3, 1.7))):
        c = [[0, lam], [lam, 0]]
        ref = _ref_lindblad([1.0, 1.0], c, list(T))
        W_ref = _ref_ergotropy(ref, _ref_hamiltonian([1.0, 1.0], c).full())
        assert abs(float(two_cell(T[0], T[1], lam).steady_ergotropy()) - W_ref) < 1e-8
    assert abs(float(two_cell(2.0, 0.0, 0.1).steady_ergotropy())) < 1e-12
    assert 0.03 < float(two_cell(2.0, 0.0, 1.2).steady_ergotropy()) < 0.05


# ---------------------------------------------------------------------------------------------
# equilibrium, trace, positivity, heat currents
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3])
def test_equal_temperatures_give_gibbs_and_zero_ergotropy(n):
    rng = np.random.default_rng(3 + n)
    for degenerate in (False, True):
        omega, coupling, _ = _random_params(rng, n, degenerate)
        Tb = rng.uniform(0.2, 2.0)
        m = MultiCellBattery(omega, coupling, [Tb] * n)
        H = _ref_hamiltonian(omega, coupling).full()
        gibbs = scipy.linalg.expm(-H / Tb)
        gibbs /= np.trace(gibbs)
        np.testing.assert_allclose(np.asarray(m.steady_state()), gibbs, atol=1e-10)
        assert abs(float(m.steady_ergotropy())) < 1e-12
        np.testing.assert_allclose(np.asarray(m.heat_currents()), 0.0, atol=1e-12)


def test_zero_temperature_gives_ground_state():
    m = three_cell(0.0, 0.0, 0.0, 0.1)
    rho = np.asarray(m.steady_state())
    ground = np.zeros((8, 8))
    ground[7, 7] = 1.0  # |ddd>, energy -3w/2 + 3 lam/2 (nondegenerate for lam < w/2)
    np.testing.assert_allclose(rho, ground, atol=1e-12)
    assert abs(float(m.steady_ergotropy())) < 1e-12


@pytest.mark.parametrize("n", [2, 3])
def test_trace_hermiticity_positivity_and_heat_currents(n):
    rng = np.random.default_rng(11 + n)
    for degenerate in (False, True, False):
        omega, coupling, T = _random_params(rng, n, degenerate)
        m = MultiCellBattery(omega, coupling, T)
        s = m.summary()
        rho = np.asarray(s["rho"])
        assert abs(np.trace(rho) - 1) < 1e-12
        assert np.abs(rho - rho.conj().T).max() < 1e-13
        assert np.linalg.eigvalsh(rho).min() > -1e-12
        np.testing.assert_allclose(np.asarray(s["populations"]), np.real(np.diag(rho)), atol=0)
        assert float(s["ergotropy"]) >= -1e-12
        # heat currents from the reference collapse operators: J_i = Tr(H D_i[rho_ref])
        H, per_bath = _ref_collapse(omega, coupling, T)
        rho_ref = qt.Qobj(_ref_lindblad(omega, coupling, T), dims=H.dims)
        J_ref = [sum((H * qt.lindblad_dissipator(c) (rho_ref)).tr() for c in cs).real if cs else 0.0
                 for cs in per_bath]
        np.testing.assert_allclose(np.asarray(s["heat_currents"]), J_ref, atol=1e-8)
        assert abs(float(np.sum(s["heat_currents"]))) < 1e-10


def test_heat_current_sign_convention():
    J = np.asarray(two_cell(2.0, 0.0, 1.2).heat_currents())  # hot left bath
    assert J[0] > 1e-4 and J[1] < -1e-4  # > 0: energy flows from the bath into the cells


def test_liouvillian_equals_core_construction_and_kappa_independence():
    m = MultiCellBattery([1.0, 0.8, 1.2], 0.3 * (1 - np.eye(3)), [0.5, 0.0, 1.1], kappa=0.7)
    np.testing.assert_allclose(
        np.asarray(m.liouvillian()), np.asarray(qb.liouvillian(m.hamiltonian(), m.jump_ops())), atol=1e-13
    )
    m2 = MultiCellBattery([1.0, 0.8, 1.2], 0.3 * (1 - np.eye(3)), [0.5, 0.0, 1.1], kappa=3.0)
    np.testing.assert_allclose(np.asarray(m.steady_state()), np.asarray(m2.steady_state()), atol=1e-12)


def test_vmap_over_temperatures_and_coupling():
    TL = jnp.array([0.0, 0.5, 1.5])
    TM = jnp.array([1.0, 0.75, 0.5])
    TR = jnp.array([0.0, 0.2, 1.0])
    lam = jnp.array([0.1, 0.3, 1.1])
    W = _erg3_vmap_nan(TL, TM, TR, lam)
    for k in range(3):
        assert abs(float(W[k]) - _ref_erg3(float(TL[k]), float(TM[k]), float(TR[k]), float(lam[k]))) < 1e-8


# ---------------------------------------------------------------------------------------------
# gradients (vs finite differences of the QuTiP reference)
# ---------------------------------------------------------------------------------------------
def _fd_grad(f, x, h=1e-5, one_sided=()):
    g = np.zeros(len(x))
    for k in range(len(x)):
        e = np.zeros(len(x))
        e[k] = h
        if k in one_sided:  # second-order forward difference (at T = 0 the domain is T >= 0)
            g[k] = (-3 * f(x) + 4 * f(x + e) - f(x + 2 * e)) / (2 * h)
        else:
            g[k] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.slow  # 50 s on 2 cores; the Pauli-path gradient test (n = 2) checks finite differences by default
def test_gradients_vs_finite_differences():
    x = np.array([1.3, 0.8, 0.4, 0.15])
    assert float(_erg3_fn(x)) > 1e-3
    g = np.asarray(_grad3(jnp.asarray(x)))
    g_ref = _fd_grad(lambda p: _ref_erg3(*p), x)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_gradients_at_zero_temperature():
    # T_R = 0: n_R = 0 with zero derivative; the gradient is finite and matches a one-sided difference
    x = np.array([1.0, 1.0, 0.0, 0.1])
    g = np.asarray(_grad3(jnp.asarray(x)))
    assert np.all(np.isfinite(g))
    g_ref = _fd_grad(lambda p: _ref_erg3(*p), x, h=1e-4, one_sided=(2,))
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-6)
    # all baths at T = 0: gradients of the ground state exist and are finite (zero for T)
    g0 = np.asarray(_grad3(jnp.array([0.0, 0.0, 0.0, 0.1])))
    assert np.all(np.isfinite(g0))
    np.testing.assert_allclose(g0[:3], 0.0, atol=1e-12)
    # heat currents and two-cell gradients are finite at T = 0 too
    gJ = jax.jacobian(lambda T: two_cell(T[0], T[1], 1.2).heat_currents())(jnp.array([2.0, 0.0]))
    assert np.all(np.isfinite(np.asarray(gJ)))


# ---------------------------------------------------------------------------------------------
# degenerate points and bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [lambda: two_cell(1.0, 0.0, 1.0), pytest.param(lambda: three_cell(1.0, 1.0, 0.0, 0.5), marks=pytest.mark.slow),
     lambda: two_cell(1.0, 0.3, -1.0)],
    ids=["two-cell lam=w", "three-cell w=2lam", "two-cell lam=-w"],
)
def test_level_crossings_raise_with_clear_message(make):
    m = make()
    with pytest.raises(ValueError, match="level crossing"):
        m.steady_state()
    with pytest.raises(ValueError, match="level crossing"):
        m.steady_ergotropy()
    # the core's solver flags the generator as singular there too (non-unique steady state)
    with pytest.raises(Exception, match="singular"):
        jax.block_until_ready(qb.steady_state(m.liouvillian()))
    # traced: eqx.error_if with the model's message
    with pytest.raises(Exception, match="level crossing"):
        jax.block_until_ready(_erg_traced(m.omega, m.coupling, m.T))
    # documented alternative: NaN at the crossing
    assert np.isnan(float(m.steady_ergotropy(degenerate="nan")))
    assert np.all(np.isnan(np.asarray(m.steady_state(degenerate="nan"))))


def test_nan_mode_in_a_vmapped_scan_and_near_crossing():
    lam = jnp.array([0.49, 0.5, 0.51])
    W = _erg3_vmap_nan(jnp.ones(3), jnp.ones(3), jnp.zeros(3), lam)
    assert np.isnan(float(W[1])) and np.isfinite(float(W[0])) and np.isfinite(float(W[2]))
    assert abs(float(W[0]) - _ref_erg3(1.0, 1.0, 0.0, 0.49)) < 1e-8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[-0.1, 0.0]), "T must be >= 0"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0], kappa=0.0), "kappa must be > 0"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0], kappa=-1.0), "kappa must be > 0"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.2, 0]], T=[0.1, 0.0]), "coupling must be symmetric"),
        (dict(omega=[1.0, 1.0], coupling=[[0.3, 0.1], [0.1, 0]], T=[0.1, 0.0]), "coupling must have a zero diagonal"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1, 0], [0.1, 0, 0]], T=[0.1, 0.0]), r"coupling must have shape \(2, 2\)"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0, 0.2]), r"T must have shape \(2,\)"),
        (dict(omega=[[1.0, 1.0]], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0]), r"omega must have shape \(n,\)"),
        (dict(omega=[1.0, 0.0], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0]), "omega must be > 0"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[np.nan, 0.0]), "T contains NaN"),
        (dict(omega=[1.0, 1.0], coupling=[[0, 0.1], [0.1, 0]], T=[0.1, 0.0], kappa=[1.0, 1.0]), "kappa must be a scalar"),
    ],
)
def test_bad_input_raises_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiCellBattery(**kwargs)


def test_bad_input_traced_raises():
    om, c = jnp.array([1.0, 1.0]), jnp.array([[0, 0.1], [0.1, 0]])
    with pytest.raises(Exception, match="T must be >= 0"):
        jax.block_until_ready(_erg_traced(om, c, jnp.array([-0.5, 0.0])))
    # all baths at T = 0 with a degenerate ground state (|lam| > w): several closed classes
    with pytest.raises(ValueError, match="closed classes"):
        two_cell(0.0, 0.0, 1.5).steady_ergotropy()
    assert np.isnan(float(two_cell(0.0, 0.0, 1.5).steady_ergotropy(degenerate="nan")))
    with pytest.raises(Exception, match="closed classes"):
        jax.block_until_ready(_erg_traced(om, 1.5 * c / 0.1, jnp.zeros(2)))
    with pytest.raises(ValueError, match="degenerate must be"):
        two_cell(1.0, 0.0, 0.1).steady_state(degenerate="ignore")


@pytest.mark.slow
def test_many_random_points_vs_qutip():
    rng = np.random.default_rng(2026)
    t0 = time.perf_counter()
    for _ in range(30):
        n = int(rng.integers(2, 4))
        omega, coupling, T = _random_params(rng, n, bool(rng.integers(2)))
        rho = np.asarray(MultiCellBattery(omega, coupling, T).steady_state())
        np.testing.assert_allclose(rho, _ref_lindblad(omega, coupling, T), atol=1e-8, rtol=0)
    assert time.perf_counter() - t0 < 600


# ---------------------------------------------------------------------------------------------
# steady-state solvers: the populations' rate equation (Pauli) vs the full Liouvillian
# ---------------------------------------------------------------------------------------------
def _nondegenerate_params(rng, n):
    """Random splittings and couplings: all Bohr frequencies distinct and far from 0; T >= 0 (one 0)."""
    omega = rng.uniform(0.5, 1.5, n)
    c = np.triu(rng.uniform(-0.4, 0.4, (n, n)), 1)
    T = rng.uniform(0.0, 2.0, n)
    T[rng.integers(n)] = 0.0
    return omega, c + c.T, T


def _both_paths(omega, coupling, T, kappa=1.0):
    a = MultiCellBattery(omega, coupling, T, kappa, steady="pauli").summary()
    b = MultiCellBattery(omega, coupling, T, kappa, steady="liouvillian").summary()
    return a, b


@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow)])
def test_pauli_path_equals_full_liouvillian(n):
    rng = np.random.default_rng(40 + n)
    for _ in range(6 if n < 4 else 1):
        omega, coupling, T = _nondegenerate_params(rng, n)
        m = MultiCellBattery(omega, coupling, T)
        E = np.asarray(m.energies())
        assert np.min(np.diff(np.sort(E))) > 1e-3  # a non-degenerate H_S
        assert m._steady_path() == "pauli"
        a, b = _both_paths(omega, coupling, T, kappa=rng.uniform(0.3, 2.0))
        for key in a:
            np.testing.assert_allclose(np.asarray(a[key]), np.asarray(b[key]), atol=1e-12, rtol=0, err_msg=key)
        np.testing.assert_array_equal(np.asarray(a["rho"]), np.diag(np.diag(np.asarray(a["rho"]))))  # diagonal


@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_pauli_path_at_grouped_bohr_frequencies(n):
    # equal cells: degenerate levels and grouped A_i(w) (cross terms |low_q><high_q'|); the populations still
    # decouple (see the next test), so the rate equation gives the full Liouvillian's steady state
    rng = np.random.default_rng(60 + n)
    for _ in range(4):
        omega, coupling, T = _random_params(rng, n, True)
        assert MultiCellBattery(omega, coupling, T)._steady_path() == "pauli"
        a, b = _both_paths(omega, coupling, T)
        for key in a:
            np.testing.assert_allclose(np.asarray(a[key]), np.asarray(b[key]), atol=1e-12, rtol=0, err_msg=key)


@pytest.mark.parametrize("n", [2, 3])
def test_liouvillian_never_mixes_populations_and_coherences(n):
    # the reason the rate equation is exact off the crossings: L[(a, a), (b, c)] = 0 and L[(b, c), (a, a)] = 0
    # for b != c, with and without grouped (equal) Bohr frequencies; W is its population block
    rng = np.random.default_rng(70 + n)
    d = 2**n
    pop = np.arange(d) * (d + 1)
    coh = np.setdiff1d(np.arange(d * d), pop)
    for degenerate in (False, True, True):
        omega, coupling, T = _random_params(rng, n, degenerate)
        m = MultiCellBattery(omega, coupling, T)
        L = np.asarray(m.liouvillian())
        assert np.abs(L[np.ix_(pop, coh)]).max() == 0 and np.abs(L[np.ix_(coh, pop)]).max() == 0
        om, c, Tj, kappa = m._params()
        tr = m._transitions(m._energies(om, c))
        W = _pauli_rate_matrix(m, tr, m._rates(tr, Tj, kappa))
        np.testing.assert_allclose(np.asarray(W), np.real(L[np.ix_(pop, pop)]), atol=1e-14)
        np.testing.assert_allclose(np.asarray(W).sum(axis=0), 0.0, atol=1e-14)


def _pauli_rate_matrix(m, tr, rates):
    from qbjax.models import _multi_cell_pauli as pauli

    return pauli.rate_matrix(pauli.pair_rates(tr, rates, m.n_cells), m.n_cells)


class _PathSpy:
    """Records which solver ran (a test-only debug callback in each path's solve).  The record is shared:
    programs compiled under an earlier spy (cached for the same static fields) report into it too."""

    ran: list = []

    def __init__(self, monkeypatch):
        from qbjax.models import _multi_cell_generator as generator
        from qbjax.models import _multi_cell_pauli as pauli

        full, small = generator._steady_state, pauli.populations

        def spy(name, fn):
            def wrapped(*args, **kwargs):
                jax.debug.callback(lambda: _PathSpy.ran.append(name))
                return fn(*args, **kwargs)

            return wrapped

        monkeypatch.setattr(generator, "_steady_state", spy("liouvillian", full))
        monkeypatch.setattr(pauli, "populations", spy("pauli", small))

    def run(self, fn):
        """(the solvers that ran, fn's result)"""
        self.ran.clear()
        out = jax.block_until_ready(fn())
        return sorted(set(self.ran)), out


_SPY_TOL = 2e-9  # a static value of its own: compilations that see the spies
_spied_traced = jax.jit(lambda om, c, T: MultiCellBattery(om, c, T, secular_tol=_SPY_TOL).summary("nan"))


@pytest.mark.parametrize(
    "make, crossing",
    [
        (lambda **k: two_cell(1.0, 0.0, 1.0, **k), True),
        (lambda **k: two_cell(1.0, 0.3, -1.0, **k), True),
        pytest.param(lambda **k: three_cell(1.0, 1.0, 0.0, 0.5, **k), True, marks=pytest.mark.slow),
        (lambda **k: two_cell(1.0, 0.0, 0.7, **k), False),
        pytest.param(lambda **k: three_cell(1.0, 1.0, 0.0, 0.1, **k), False, marks=pytest.mark.slow),  # grouped Bohr frequencies: still Pauli
    ],
    ids=["two-cell lam=w", "two-cell lam=-w", "three-cell w=2lam", "two-cell off", "three-cell off"],
)
def test_degenerate_switch_is_taken_at_the_crossings(make, crossing, monkeypatch):
    spy = _PathSpy(monkeypatch)
    m = make(secular_tol=_SPY_TOL)
    want = ["liouvillian"] if crossing else ["pauli"]
    assert m._steady_path() == want[0]
    assert bool(m.level_crossing()) == crossing
    # concrete parameters: decided in Python; traced omega/coupling: lax.cond runs one branch
    assert spy.run(lambda: m.steady_ergotropy(degenerate="nan"))[0] == want
    ran, out = spy.run(lambda: _spied_traced(m.omega, m.coupling, m.T))
    assert ran == want
    ref = MultiCellBattery(m.omega, m.coupling, m.T, steady="liouvillian").summary("nan")
    for key in out:  # NaN at the crossings on both paths, the same values off them
        np.testing.assert_allclose(np.asarray(out[key]), np.asarray(ref[key]), atol=1e-12, rtol=0)
    if crossing:
        with pytest.raises(ValueError, match="level crossing"):
            m.steady_state()
        with pytest.raises(ValueError, match="level crossing"):  # forcing the rate equation: same refusal
            make(steady="pauli").steady_state()
        assert np.isnan(float(make(steady="pauli").steady_ergotropy(degenerate="nan")))


def test_steady_option_is_checked():
    with pytest.raises(ValueError, match="steady must be one of"):
        two_cell(1.0, 0.0, 0.7, steady="svd")


def _fd(f, x, h):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("n", [2, pytest.param(3, marks=pytest.mark.slow)])  # n = 3: 70 s, -m slow
def test_pauli_gradients_equal_full_path_and_finite_differences(n):
    # d/d(T_L, lam) of the ergotropy, energy and the heat currents at a random non-degenerate point,
    # lam scaling the whole coupling matrix (the default path under jax.grad, a lax.cond on traced
    # couplings, is checked against finite differences of QuTiP in test_gradients_vs_finite_differences)
    rng = np.random.default_rng(80 + n)
    omega, c0, T = _nondegenerate_params(rng, n)
    T[0], T[-1] = 1.7, 0.2

    def obs(x, steady):
        Tx = jnp.asarray(T).at[0].set(x[0])
        s = MultiCellBattery(omega, x[1] * jnp.asarray(c0), Tx, steady=steady).summary()
        return jnp.concatenate([jnp.stack([s["ergotropy"], s["energy"]]), s["heat_currents"]])

    x = jnp.array([T[0], 1.0])
    jp = np.asarray(jax.jit(jax.jacrev(lambda x: obs(x, "pauli")))(x))
    jl = np.asarray(jax.jit(jax.jacrev(lambda x: obs(x, "liouvillian")))(x))
    np.testing.assert_allclose(jp, jl, atol=1e-11, rtol=0)
    f = jax.jit(lambda x: obs(x, "pauli"))
    fd = _fd(lambda v: np.asarray(f(jnp.asarray(v))), np.asarray(x), 1e-5).T
    np.testing.assert_allclose(jp, fd, rtol=1e-6, atol=1e-8)
    assert abs(jp[0]).max() > 1e-3  # a non-trivial ergotropy gradient


# three cells (two compilations of the 64 x 64 problem, ~28 s): -m slow; the two-cell crossings (the
# clear error, the degenerate switch) run by default
@pytest.mark.slow
def test_pauli_in_a_vmapped_scan_through_crossings():
    # a vmap over the coupling (lam = 0.5: three equal cells at w = 2 lam) with the rate equation forced:
    # the default's values, and NaN at the crossing as on the full Liouvillian
    lam = jnp.array([0.3, 0.49, 0.5, 0.51, 1.2])
    ones = jnp.ones_like(lam)
    W = {s: jax.jit(jax.vmap(lambda a, b, c, l, s=s: three_cell(a, b, c, l, steady=s).steady_ergotropy(
        degenerate="nan")))(1.3 * ones, ones, 0.2 * ones, lam) for s in ("auto", "pauli")}
    assert np.isnan(np.asarray(W["pauli"])).tolist() == [False, False, True, False, False]
    np.testing.assert_allclose(np.asarray(W["pauli"]), np.asarray(W["auto"]), atol=1e-13, rtol=0)
