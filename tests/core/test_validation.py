"""The core's validation policy: every public function rejects unphysical input with an error that
names the argument and the violated property, eagerly, under ``jax.jit`` and under ``jax.vmap``; and
gradients with respect to rates are finite and exact at rate = 0 (``liouvillian(..., rates=)``).

Reference values are closed forms, stated at each test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb

H2 = np.diag([0.0, 1.0])
RHO2 = np.array([[0.3, 0.2], [0.2, 0.7]])
SM = np.array([[0.0, 1.0], [0.0, 0.0]])  # |0><1|: lowers the excited level 1 to 0
SP = SM.T
NAN = np.array([[np.nan, 0.0], [0.0, 0.5]])
INF = np.array([[np.inf, 0.0], [0.0, 0.5]])
BAD_STATES = [  # (state, words that must appear in the error)
    (2 * RHO2, "does not have unit trace"),
    (np.diag([1.2, -0.2]), "is not positive semidefinite"),
    (np.array([[0.3, 0.5], [0.0, 0.7]]), "is not Hermitian"),
    (NAN, "contains NaN"),
    (INF, "contains inf"),
]
FUNCTIONALS = ["energy", "passive_energy", "active_energy", "ergotropy", "antiergotropy", "capacity"]


def _modes(f):
    """The function eagerly, under jax.jit and under jax.vmap (over a batch of one)."""
    return {
        "eager": f,
        "jit": lambda *a: jax.block_until_ready(jax.jit(f)(*a)),
        "vmap": lambda *a: jax.block_until_ready(jax.vmap(f)(*(jnp.asarray(x)[None] for x in a))),
    }


@pytest.mark.parametrize("mode", ["eager", "jit", "vmap"])
@pytest.mark.parametrize("name", FUNCTIONALS)
def test_functionals_reject_unphysical_states(name, mode):
    f = _modes(getattr(qb, name))[mode]
    for rho, words in BAD_STATES:
        with pytest.raises(Exception, match=f"rho {words}"):
            f(jnp.asarray(rho), jnp.asarray(H2))
    with pytest.raises(Exception, match="H contains NaN"):
        f(jnp.asarray(RHO2), jnp.asarray(NAN))


@pytest.mark.parametrize("mode", ["eager", "jit", "vmap"])
def test_state_functions_reject_unphysical_states(mode):
    cases = {
        "purity": lambda r: qb.purity(r),
        "partial_trace": lambda r: qb.partial_trace(jnp.kron(r, jnp.eye(2) / 2), (2, 2), 0),
        "trace_distance": lambda r: qb.trace_distance(jnp.asarray(RHO2), r),
        "concurrence": lambda r: qb.concurrence(jnp.kron(r, jnp.eye(2) / 2)),
    }
    for name, fn in cases.items():
        f = _modes(fn)[mode]
        for rho, words in BAD_STATES:
            if name in ("partial_trace", "concurrence") and words == "contains inf":
                words = "contains NaN"  # kron(rho, 1/2) turns inf * 0 into NaN
            with pytest.raises(Exception, match=words):
                f(jnp.asarray(rho))
    with pytest.raises(ValueError, match="rho does not have unit trace"):
        qb.purity(2 * RHO2)  # was 2.4 (issue example)
    with pytest.raises(ValueError, match="rho2 does not have unit trace"):
        qb.trace_distance(RHO2, 3 * RHO2)


def test_valid_states_within_tolerance_are_accepted():
    # round-off-level errors (an ODE solve at rtol 1e-8) are accepted: tolerance 1e-6 in float64
    rho = RHO2 + 1e-9 * np.array([[1.0, 1.0], [0.0, -0.5]])
    assert np.isfinite(qb.ergotropy(rho, H2))
    r = np.diag([1.0 + 5e-7, -5e-7])
    np.testing.assert_allclose(qb.ergotropy(r, H2), 0.0, atol=1e-6)


def test_partial_trace_selection():
    rho = np.eye(24) / 24
    with pytest.raises(ValueError, match="keep must name each subsystem at most once"):
        qb.partial_trace(rho, [2, 3, 4], [0, 0])
    with pytest.raises(ValueError, match="keep must be an integer; got 0.7"):
        qb.partial_trace(np.eye(4) / 4, [2, 2], 0.7)
    with pytest.raises(ValueError, match="dims must be"):
        qb.partial_trace(np.eye(4) / 4, [2.5, 2], 0)
    np.testing.assert_allclose(qb.partial_trace(rho, [2, 3, 4], [2, 0]), np.eye(8) / 8, atol=1e-15)


def test_liouvillian_rejects_bad_hamiltonians_and_rates():
    with pytest.raises(ValueError, match="H is not Hermitian"):
        qb.liouvillian(np.array([[0.0, 1.0], [0.0, 1.0]]), [SM])
    with pytest.raises(ValueError, match="H contains NaN"):
        qb.liouvillian(NAN, [SM])
    with pytest.raises(ValueError, match="jump_ops contains inf"):
        qb.liouvillian(H2, [np.where(SM > 0, np.inf, 0.0)])
    with pytest.raises(ValueError, match="rates must be >= 0"):
        qb.liouvillian(H2, [SM], rates=[-0.1])
    with pytest.raises(ValueError, match="rates contains NaN"):
        qb.liouvillian(H2, [SM], rates=[np.nan])
    with pytest.raises(ValueError, match=r"rates must have shape \(\.\.\., 2\)"):
        qb.liouvillian(H2, [SM, SP], rates=[0.1])
    with pytest.raises(Exception, match="rates must be >= 0"):
        jax.block_until_ready(jax.jit(lambda g: qb.liouvillian(H2, [SM], rates=g[None]))(-1.0))
    # rates= is the rate-folded form: D[sqrt(g) A] = g D[A] (closed form, linearity of D in A A^dag)
    np.testing.assert_allclose(qb.liouvillian(H2, [SM, SP], rates=[0.3, 0.7]),
                               qb.liouvillian(H2, [np.sqrt(0.3) * SM, np.sqrt(0.7) * SP]), atol=1e-15)


def test_steady_state_rejects_bad_generators_and_is_scale_invariant():
    L = np.array(qb.liouvillian(H2, [SM, SP], rates=[1.0, 0.25]))
    rho = qb.steady_state(L)
    np.testing.assert_allclose(rho, np.diag([0.8, 0.2]), atol=1e-14)  # detailed balance 1 : 0.25
    for c in (1e-300, 1e-30, 1e-15, 1e15, 1e30, 1e300):
        np.testing.assert_allclose(qb.steady_state(c * L), rho, atol=1e-14)
    for bad, words in [(np.where(np.arange(16).reshape(4, 4) == 3, np.nan, L), "L contains NaN"),
                       (np.where(np.arange(16).reshape(4, 4) == 1, np.inf, L), "L contains inf"),
                       (L + 0.1 * np.eye(4), "L is not trace preserving")]:
        for f in (qb.steady_state, jax.jit(qb.steady_state)):
            with pytest.raises(Exception, match=words):
                jax.block_until_ready(f(jnp.asarray(bad)))


def test_evolve_rejects_bad_times_and_states():
    L = qb.liouvillian(H2, [SM], rates=[0.5])
    for ts, words in [([1.0, 0.5, 0.0], "ts must be strictly increasing"),
                      ([0.0, 2.0, 1.0], "ts must be strictly increasing"),
                      ([0.0, np.nan], "ts contains NaN"),
                      ([0.0, np.inf], "ts contains inf"),
                      ([], "ts is empty")]:
        with pytest.raises(ValueError, match=words):
            qb.evolve(L, RHO2, np.asarray(ts))
    with pytest.raises(ValueError, match="ts must not start before t0"):
        qb.evolve(L, RHO2, np.array([-1.0, 0.0]), t0=0.0)
    for rho, words in BAD_STATES:
        with pytest.raises(ValueError, match=f"rho0 {words}"):
            qb.evolve(L, rho, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="L is not trace preserving"):
        qb.evolve(L + 0.1 * jnp.eye(4), RHO2, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"L\(t0\) contains NaN"):
        qb.evolve(lambda t: L * jnp.nan, RHO2, np.array([0.0, 1.0]))
    with pytest.raises(Exception, match="ts must be strictly increasing"):  # traced times
        jax.block_until_ready(jax.jit(lambda ts: qb.evolve(L, RHO2, ts))(jnp.array([1.0, 0.0])))
    # negative times are a time origin, not a backward integration: the same as from 0 (closed form
    # p_1(t) = 0.7 exp(-0.5 t))
    out = qb.evolve(L, RHO2, np.array([-2.0, -1.0]))
    np.testing.assert_allclose(np.real(out[:, 1, 1]), 0.7 * np.exp(-0.5 * np.array([0.0, 1.0])), rtol=1e-7)


def test_cumulants_reject_foreign_and_bad_generators():
    rates4 = np.array([[-1, 2, 0, 0], [1, -3, 1, 0], [0, 1, -2, 1], [0, 0, 1, -1.0]])  # columns sum to 0
    rates9 = np.diag(np.ones(8), 1) + np.diag(np.ones(8), -1)
    rates9 -= np.diag(rates9.sum(axis=0))
    for W in (rates4, rates9):
        with pytest.raises(ValueError, match=r"generator\(0\) is not trace preserving.*pass|needs trace="):
            qb.cumulants(lambda lam, W=W: jnp.asarray(W))
    L = qb.liouvillian(H2, [SM, SP], rates=[1.0, 0.25])
    with pytest.raises(ValueError, match=r"generator\(0\) contains inf"):
        qb.cumulants(lambda lam: L.at[0, 1].set(jnp.inf))
    with pytest.raises(ValueError, match=r"generator\(0\) is not trace preserving"):
        qb.cumulants(lambda lam: L + 0.1 * jnp.eye(4))
    with pytest.raises(ValueError, match="order must be an integer"):
        qb.cumulants(lambda lam: L, order=2.5)


def test_nan_is_called_nan():
    with pytest.raises(ValueError, match="T is NaN"):
        qb.bose_einstein(1.0, np.nan)
    with pytest.raises(ValueError, match="omega is NaN"):
        qb.bose_einstein(np.nan, 1.0)
    with pytest.raises(ValueError, match="T must be finite"):
        qb.bose_einstein(1.0, np.inf)
    with pytest.raises(ValueError, match="rho contains NaN"):
        qb.ergotropy(NAN, H2)


def test_set_validation_switch():
    assert qb.validation_enabled()
    with qb.set_validation(False):
        assert not qb.validation_enabled()
        np.testing.assert_allclose(qb.purity(2 * RHO2), 4 * np.trace(RHO2 @ RHO2))  # unchecked
    assert qb.validation_enabled()
    with pytest.raises(ValueError):
        qb.purity(2 * RHO2)
    np.testing.assert_allclose(qb.purity(2 * RHO2, validate=False), 4 * np.trace(RHO2 @ RHO2))


# ---------------------------------------------------------------------------------------------
# gradients with respect to rates at rate = 0 (exact, closed forms)
# ---------------------------------------------------------------------------------------------


def test_rate_gradients_at_zero_are_exact():
    # each gradient compiled (jax.jit): op by op, the steady-state gradient alone takes ~6 s
    # two-level system, decay 1 (SM) and pumping g (SP): steady p_1 = g / (1 + g), dp_1/dg(0) = 1
    def steady_excited(g):
        return jnp.real(qb.steady_state(qb.liouvillian(H2, [SM, SP], rates=jnp.stack([1.0, g])))[1, 1])

    np.testing.assert_allclose(jax.jit(jax.grad(steady_excited))(0.0), 1.0, rtol=1e-12)

    # decay at rate g from |1>: p_1(t) = exp(-g t), dp_1(1)/dg(0) = -1
    def evolved_excited(g):
        L = qb.liouvillian(H2, [SM], rates=g[None])
        return jnp.real(qb.evolve(L, np.diag([0.0, 1.0]), jnp.array([0.0, 1.0]))[-1, 1, 1])

    np.testing.assert_allclose(jax.jit(jax.grad(evolved_excited))(jnp.asarray(0.0)), -1.0, rtol=1e-7)

    # emission current j1 = 1 * p_1 = g / (1 + g) counting SM jumps: dj1/dg(0) = 1
    def current(g):
        L = qb.liouvillian(H2, [SM, SP], rates=jnp.stack([1.0, g]))
        jump = qb.sprepost(SM, SM.T)
        return qb.cumulants(lambda lam: L + jnp.expm1(lam) * jump, order=1)[0]

    np.testing.assert_allclose(jax.jit(jax.grad(current))(0.0), 1.0, rtol=1e-12)
    # with the rate folded into sqrt(g) A, the same derivative is NaN: the reason rates= exists
    folded = lambda g: jnp.real(qb.steady_state(qb.liouvillian(H2, [SM, jnp.sqrt(g) * SP]))[1, 1])
    assert np.isnan(jax.jit(jax.grad(folded))(0.0))


def test_concurrence_gradient_is_finite_at_pure_and_degenerate_states():
    bell = np.outer([1, 0, 0, 1], [1, 0, 0, 1]) / 2.0
    werner = lambda p: qb.concurrence(p * bell + (1 - p) * np.eye(4) / 4)  # C = (3p - 1)/2 for p > 1/3
    np.testing.assert_allclose(werner(0.7), 0.55, atol=1e-14)
    dwerner = jax.jit(jax.grad(werner))  # compiled once (op by op each call takes seconds)
    np.testing.assert_allclose(dwerner(0.7), 1.5, rtol=1e-9)  # degenerate spectrum
    np.testing.assert_allclose(dwerner(1.0), 1.5, rtol=1e-5)  # pure: the left derivative
    g = jax.jit(jax.grad(lambda r: qb.concurrence(r)))(jnp.asarray(bell, dtype=complex))
    assert np.all(np.isfinite(g))
    # a random full-rank state: the gradient matches central finite differences
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = A @ A.conj().T
    rho /= np.trace(rho)
    X = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    X = X + X.conj().T
    X -= np.trace(X) / 4 * np.eye(4)
    h = 1e-6
    conc = jax.jit(qb.concurrence)
    fd = (conc(rho + h * X) - conc(rho - h * X)) / (2 * h)
    ad = jax.jit(lambda r, x: jax.jvp(qb.concurrence, (r,), (x,))[1])(jnp.asarray(rho), jnp.asarray(X))
    np.testing.assert_allclose(ad, fd, rtol=1e-5, atol=1e-9)
