"""Every model method rejects unphysical input with a ``ValueError`` naming the argument, and gradients
with respect to a rate are finite at rate = 0.

One test (or parametrised group) per reported defect.  Error checks: eager on concrete input
(``ValueError``), ``eqx.error_if`` under ``jax.jit`` (any exception whose message names the argument).
Reference values, each stated where it is used:

* closed forms: the charger-battery energy E(t) = omega_b sin^2(theta/2) f(t)^2 of Eq. (62) and its
  peak (Eq. 64), differentiated by hand at gamma = 0; a decaying qubit, E(t) = omega e^{-gamma t};
  ``scipy.linalg.expm`` of the four-level generator for a user start;
* one-sided finite differences (f(h) - f(0)) / h, h = 1e-6, where no closed form exists (the
  Tavis-Cummings cavity loss and dephasing rates, the multi-cell bath temperatures).
"""

from __future__ import annotations

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import qbjax as qb
from qbjax.models import (AbstractLindbladBattery, ChargerBattery, FourLevelBattery, Micromaser, MultiCellBattery,
                          TavisCummingsBattery)
from qbjax.models.multi_cell import two_cell

FOUR = dict(T_c=0.5, T_h=4.0, T_l=1.0, p_c=0.7, p_h=0.6, tau=0.3, eps=0.3, eps_b=0.8, eps_a=2.3)
G_PAPER = math.pi / math.sqrt(15.6)
H_FD = 1e-6  # one-sided finite-difference step (rates of order 0.05 - 1)


def _raises_traced(fn, arg, match):
    """``fn`` under ``jax.jit`` raises at run time with a message matching ``match``."""
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(jax.jit(fn)(arg))


# ---------------------------------------------------------------------------------------------
# 1. four-level battery: finite parameters, checked times and start vectors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n if n in ("T_h", "eps_a") else pytest.param(n, marks=pytest.mark.slow)
                                  for n in ["T_c", "T_h", "T_l", "tau", "eps_a", "r", "g"]])
def test_four_level_rejects_infinite_parameters(name):
    """eps_a = inf used to give zero cumulants, T = inf "steady state: singular system"."""
    with pytest.raises(ValueError, match=rf"\b{name} must be finite"):
        FourLevelBattery(**{**FOUR, name: np.inf})
    _raises_traced(lambda v: FourLevelBattery(**{**FOUR, name: v}).cumulants(), jnp.inf, rf"\b{name} must be finite")


@pytest.mark.parametrize(
    "ts, match",
    [([-1.0, 1.0], "ts must not start before"), ([1.0, 0.5], "ts must be strictly increasing"),
     ([0.0, np.nan], "ts contains NaN"), ([0.0, np.inf], "ts contains inf"), ([], "ts is empty")],
)
def test_four_level_evolve_checks_times(ts, match):
    m = FourLevelBattery(**FOUR)
    with pytest.raises(ValueError, match=match):
        m.evolve(jnp.asarray(ts))
    with pytest.raises(ValueError, match=match):
        m.fig1_curves(jnp.asarray(ts))


@pytest.mark.parametrize(
    "x0, match",
    [([0.6, 0.6, 0.0, 0.0, 0.0], "sum to 1"), ([1.2, -0.2, 0.0, 0.0, 0.0], r"lie in \[0, 1\]"),
     ([0.5, 0.5, 0.0, 0.0, 0.6], r"sqrt\(rho11 rho22\)"), ([0.5, np.nan, 0.0, 0.0, 0.0], "rho0 contains NaN"),
     ([0.5, 0.5, 0.0, 0.0], r"5-vector")],
)
def test_four_level_evolve_checks_the_start_vector(x0, match):
    m = FourLevelBattery(**FOUR)
    with pytest.raises(ValueError, match=rf"rho0.*{match}|{match}"):
        m.evolve(jnp.array([0.0, 1.0]), jnp.asarray(x0))
    if len(x0) == 5:
        _raises_traced(lambda x: m.evolve(jnp.array([0.0, 1.0]), x), jnp.asarray(x0), "rho0")


def test_four_level_valid_start_is_propagated_exactly():
    """Reference: scipy.linalg.expm of the generator (closed form of the linear ODE)."""
    m = FourLevelBattery(**FOUR)
    x0 = np.array([0.3, 0.5, 0.1, 0.1, 0.2])  # |Re rho12| = 0.2 <= sqrt(0.15)
    ts = np.array([0.0, 0.7, 2.0])
    L = np.asarray(m.generator(0.0))
    ref = np.stack([scipy.linalg.expm(L * t) @ x0 for t in ts])
    np.testing.assert_allclose(np.asarray(m.evolve(jnp.asarray(ts), x0)), ref, atol=1e-12)
    with pytest.raises(ValueError, match="order"):
        m.cumulants(2.5)


# ---------------------------------------------------------------------------------------------
# 2. micromaser: counts, lam, tail, per-collision c and q, the truncation guard
# ---------------------------------------------------------------------------------------------


def test_micromaser_loss_arguments():
    m = Micromaser(G_PAPER, n_levels=10, on_truncation="ignore")
    with pytest.raises(ValueError, match="n_collisions must be an integer"):
        m.loss(0.4, 0.2, n_collisions=20.7)
    with pytest.raises(ValueError, match=r"n_collisions \(batch size\) must be >= 0"):
        m.loss(jnp.array([0.4, 0.3]), 0.2, (10, -1))
    with pytest.raises(ValueError, match=r"\blam\b.*>= 0"):
        m.loss(0.4, 0.2, 20, lam=-1.0)
    with pytest.raises(ValueError, match="lam contains inf"):
        m.loss(0.4, 0.2, 20, lam=np.inf)
    with pytest.raises(ValueError, match="tail is NaN"):
        m.loss(0.4, 0.2, 20, tail=float("nan"))
    with pytest.raises(ValueError, match=r"tail must lie in \[0, 1\]"):
        m.loss(0.4, 0.2, 20, tail=1.5)
    with pytest.raises(ValueError, match="block"):
        m.charge(0.4, 0.2, 20, block=0)
    _raises_traced(lambda lam: m.loss(0.4, 0.2, 20, lam=lam), -1.0, r"\blam\b")


def test_micromaser_checked_c_q_are_the_values_integrated():
    """The eager call raises; under jit it used to return 3.45 (the unchecked values were integrated)."""
    m = Micromaser(G_PAPER, n_levels=40)
    with pytest.raises(ValueError, match=r"\bc must lie in \[0, 1\]"):
        m.charge(1.5, 0.5, 20)
    _raises_traced(lambda c: m.charge(c, 0.5, 20)[1], 1.5, r"\bc must lie in \[0, 1\]")
    _raises_traced(lambda c: m.charge(c, 0.5, 20)[1], jnp.full(20, -0.1), r"\bc must lie")  # per collision
    _raises_traced(lambda q: m.loss(0.3, q, 20), jnp.full(20, 1.2), r"\bq must lie")
    with pytest.raises(Exception, match=r"\bc must lie"):
        jax.block_until_ready(jax.vmap(lambda c: m.loss(c, 0.5, 20))(jnp.full((3, 20), -0.1)))
    with pytest.raises(Exception, match=r"\bq is NaN"):
        jax.block_until_ready(jax.jit(lambda q: m.charge(0.3, q, 20)[1])(jnp.nan))
    # valid traced values give the eager result
    np.testing.assert_allclose(np.asarray(jax.jit(lambda c: m.charge(c, 0.5, 20)[1])(0.4)),
                               np.asarray(m.charge(0.4, 0.5, 20)[1]), atol=1e-13)


def test_micromaser_leaking_truncation_raises_by_default():
    """Fully excited qubits at the paper's g climb to the top level of a 10-level cavity (population 1.0)."""
    m = Micromaser(G_PAPER, n_levels=10)
    assert m.on_truncation == "raise"
    for run in (lambda: m.charge(0.0, 0.0, 200), lambda: m.loss(0.0, 0.0, 200),
                lambda: m.trajectory(0.0, 0.0, 200, [0, 200]), lambda: m.evolve([0, 200])):
        with pytest.raises(ValueError, match=r"n_levels = 10; raise n_levels") as info:
            run()
        assert "reached 1.000e+00" in str(info.value)
    _raises_traced(lambda c: m.charge(c, 0.0, 200)[1], 0.0, "raise n_levels")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Micromaser(G_PAPER, n_levels=10, on_truncation="warn").charge(0.0, 0.0, 200)
    assert any("n_levels = 10" in str(w.message) for w in caught)
    res = Micromaser(G_PAPER, n_levels=10, on_truncation="ignore").run(0.0, 0.0, 200)
    assert abs(float(res.top_population) - 1.0) < 1e-12 and not bool(res.truncation_ok)


def test_micromaser_counts_and_states():
    m = Micromaser(G_PAPER, n_levels=40)
    for ts, match in (([0, 3.5], "must be an integer"), ([3, 1], "strictly increasing"), ([-1, 2], "before")):
        with pytest.raises(ValueError, match=rf"ts.*{match}|{match}"):
            m.evolve(ts)
    with pytest.raises(ValueError, match="n_collisions"):
        m.features(10.5)
    with pytest.raises(ValueError, match="checkpoints"):
        m.trajectory(0.4, 0.2, 20, [0, 25])
    with pytest.raises(ValueError, match="rho0 does not have unit trace"):
        m.charge(0.4, 0.2, 20, rho0=np.eye(40))
    with pytest.raises(ValueError, match="rho does not have unit trace"):
        m.collide(np.eye(40), 0.4, 0.2)


# ---------------------------------------------------------------------------------------------
# 3. Tavis-Cummings: times, t1, the cavity cutoff
# ---------------------------------------------------------------------------------------------


def test_tavis_cummings_checks_times():
    m = TavisCummingsBattery(1)
    for ts, match in (([1.0, 0.5], "strictly increasing"), ([-1.0, 1.0], "before t0"), ([0.0, np.nan], "NaN")):
        for method in (m.evolve, m.ergotropy_curve, m.dynamics, m.battery_populations, m.trace_distance_curve):
            with pytest.raises(ValueError, match=rf"ts.*{match}"):
                method(jnp.asarray(ts))
    with pytest.raises(ValueError, match=r"t1 must be >= t0"):
        m.final_ergotropy(-1.0)
    with pytest.raises(ValueError, match=r"t1 must be > 0"):
        m.features(t1=-1.0)
    with pytest.raises(ValueError, match="n_times"):
        m.features(n_times=2)
    with pytest.raises(ValueError, match="refine"):
        m.blp(jnp.linspace(0.0, 1.0, 5), refine=0)
    _raises_traced(lambda t1: m.final_ergotropy(t1), -1.0, "t1")


def test_tavis_cummings_cavity_must_hold_the_excitations():
    """The charged start of N = 3 needs Fock states 0..3; n_cavity = 2 gave a wrong ergotropy."""
    with pytest.raises(ValueError, match=r"n_cavity = 2 is too small .* n_cavity must be >= N \+ 1 = 4"):
        TavisCummingsBattery(3, n_cavity=2)
    with pytest.warns(UserWarning, match="n_cavity"):
        TavisCummingsBattery(3, n_cavity=2, on_truncation="warn")
    # environment A only removes photons: the minimum cutoff is exact (same value as a larger one,
    # to the ODE tolerance), the truncated one is not
    kw = dict(rtol=1e-10, atol=1e-12)
    e4, e6 = (float(TavisCummingsBattery(3, n_cavity=nc).final_ergotropy(5.0, **kw)) for nc in (4, 6))
    e2 = float(TavisCummingsBattery(3, n_cavity=2, on_truncation="ignore").final_ergotropy(5.0, **kw))
    assert abs(e4 - e6) < 1e-8 and abs(e2 - e6) > 0.1
    # a start with more excitations than the cavity holds: |J, J> (x) |1> for N = 1, n_cavity = 2
    m = TavisCummingsBattery(1, n_cavity=2)
    rho0 = np.zeros((4, 4))
    rho0[1, 1] = 1.0
    with pytest.raises(ValueError, match=r"rho0 populates excitation numbers .* n_cavity"):
        m.evolve(jnp.array([0.0, 1.0]), rho0)
    with pytest.raises(ValueError, match="rho0 is not Hermitian"):
        m.evolve(jnp.array([0.0, 1.0]), np.triu(np.ones((4, 4))) / 4)


# ---------------------------------------------------------------------------------------------
# 4. charger battery: t_max, and J = 0 (no charging at all)
# ---------------------------------------------------------------------------------------------


def test_charger_optimal_times_arguments():
    m = ChargerBattery(1.0)
    with pytest.raises(ValueError, match="t_max must be > 0"):
        m.optimal_times(t_max=-1.0)
    with pytest.raises(ValueError, match="t_max contains NaN"):
        m.optimal_times(t_max=float("nan"))
    with pytest.raises(ValueError, match="n_grid"):
        m.optimal_times(n_grid=2.5)
    _raises_traced(lambda t: m.optimal_times(t_max=t, n_grid=11)["E_max"], -1.0, "t_max must be > 0")


def test_charger_without_coupling():
    """J = 0: the battery never leaves |0> (H has no hopping), so every peak is 0; the default
    t_max = pi / J is infinite (this used to surface as "rho is not Hermitian")."""
    with pytest.raises(ValueError, match=r"\bJ must be > 0 for the default t_max"):
        ChargerBattery(1.0, J=0.0).optimal_times()
    _raises_traced(lambda J: ChargerBattery(1.0, J=J).optimal_times(n_grid=11)["E_max"], 0.0, r"\bJ must be > 0")
    opt = ChargerBattery(1.0, J=0.0, gamma=0.3).optimal_times(t_max=2.0, n_grid=101)
    for key in ("E_max", "erg_max", "P_max", "Pe_max"):
        assert abs(float(opt[key])) < 1e-14, key


# ---------------------------------------------------------------------------------------------
# 5. multi-cell battery: finite parameters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [("omega", [1.0, np.inf]), ("T", [np.inf, 0.0]), ("kappa", np.inf),
                                          ("coupling", [[0.0, np.inf], [np.inf, 0.0]])])
def test_multi_cell_rejects_infinite_parameters(field, value):
    """omega = inf used to say "H is not Hermitian"."""
    base = dict(omega=[1.0, 1.0], coupling=[[0.0, 0.2], [0.2, 0.0]], T=[1.0, 0.5])
    with pytest.raises(ValueError, match=rf"\b{field} must be finite"):
        MultiCellBattery(**{**base, field: value})
    if field == "omega":  # the traced check (omega traced) is the same for every field: once
        _raises_traced(lambda w: two_cell(1.0, 0.5, 0.2, omega=w).steady_ergotropy(), jnp.inf, r"\bomega must be finite")


def test_multi_cell_evolve_checks_inputs():
    m = two_cell(1.0, 0.5, 0.2)
    with pytest.raises(ValueError, match="ts must not start before t0"):
        m.evolve(jnp.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="rho0 does not have unit trace"):
        m.evolve(jnp.array([0.0, 1.0]), np.eye(4))
    with pytest.raises(ValueError, match=r"rho0 must have shape \(\.\.\., 4, 4\)"):
        m.evolve(jnp.array([0.0, 1.0]), np.eye(3) / 3)


# ---------------------------------------------------------------------------------------------
# 6. gradients with respect to a rate at rate = 0
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_charger_gradient_in_gamma_at_zero():
    """Closed forms (Eqs. 62, 64): E(t) = s2 f^2, f = (J/G) sin(Gt) e^{-gamma t/4}, so at gamma = 0
    dE/dgamma = -omega_b s2 sin^2(Jt) t / 2, and dE_max/dgamma = -omega_b s2 pi / (4 J)."""
    theta, t = 1.0, 1.0
    s2 = math.sin(theta / 2) ** 2
    energy = jax.grad(lambda g: ChargerBattery(theta, gamma=g).curves(jnp.array([t]))["energy"][0])(0.0)
    assert abs(float(energy) - (-s2 * math.sin(t) ** 2 * t / 2)) < 1e-9
    peak = jax.grad(lambda g: ChargerBattery(theta, gamma=g).optimal_times(n_grid=201)["E_max"])(0.0)
    assert abs(float(peak) - (-s2 * math.pi / 4)) < 1e-6
    L = jax.jacfwd(lambda g: ChargerBattery(theta, gamma=g).liouvillian())(0.0)
    assert np.all(np.isfinite(np.asarray(L)))


_SM = jnp.array([[[0.0, 1.0], [0.0, 0.0]]], dtype=complex)  # |0><1|, one jump operator


class _DecayingQubit(AbstractLindbladBattery):
    """H = omega |1><1|, L = sqrt(gamma) |0><1|, start |1>: E(t) = omega exp(-gamma t).  Rates folded
    into the jump operator only (no ``jump_terms``)."""

    omega: jax.Array = eqx.field(converter=jnp.asarray)
    gamma: jax.Array = eqx.field(converter=jnp.asarray)

    def hamiltonian(self):
        return (self.omega * jnp.array([[0.0, 0.0], [0.0, 1.0]])).astype(complex)

    def battery_hamiltonian(self):
        return self.hamiltonian()

    def jump_ops(self, t=0.0):
        return jnp.sqrt(self.gamma) * _SM

    def initial_state(self):
        return jnp.array([[0.0, 0.0], [0.0, 1.0]], dtype=complex)

    def battery_state(self, rho):
        return rho

    def features(self):
        return {}


class _DecayingQubitRates(_DecayingQubit):
    """The same battery with the optional protocol hook ``jump_terms``: the rate given apart."""

    def jump_terms(self, t=0.0):
        return _SM, self.gamma[None]


@pytest.mark.slow
def test_protocol_jump_terms_give_exact_rate_gradients():
    """Closed form E(t) = omega e^{-gamma t}: dE/dgamma = -omega t at gamma = 0.  Without the optional
    ``jump_terms`` the rate sits under a square root and the gradient is NaN there."""
    ts = jnp.array([0.5, 2.0])

    def energy(g, cls=_DecayingQubitRates):
        m = cls(1.5, g)
        return m.energy(m.evolve(ts))[-1]

    assert abs(float(jax.grad(energy)(0.0)) - (-1.5 * 2.0)) < 1e-7
    assert abs(float(energy(0.3)) - 1.5 * math.exp(-0.6)) < 1e-8
    assert np.isnan(float(jax.grad(lambda g: energy(g, _DecayingQubit))(0.0)))
    m = _DecayingQubitRates(1.5, 0.3)
    np.testing.assert_allclose(np.asarray(m.liouvillian()), np.asarray(qb.liouvillian(m.hamiltonian(), m.jump_ops())),
                               atol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("rate", ["gamma0", "gamma_phi"])
def test_tavis_cummings_gradient_at_zero_rate(rate):
    """Dense Liouvillian path (qbjax.liouvillian with rates) against a one-sided finite difference and
    against the operator-form path (rates enter linearly there by construction)."""
    ts = jnp.array([0.5, 1.0])
    kw = dict(rtol=1e-11, atol=1e-13)

    def erg(r, method):
        m = TavisCummingsBattery(1, 0.3, n_cavity=2, environment="B", **{rate: r})
        return m.ergotropy_curve(ts, method=method, **kw)[-1]

    g_dense = float(jax.grad(lambda r: erg(r, "dense"))(0.0))
    fd = (float(erg(H_FD, "dense")) - float(erg(0.0, "dense"))) / H_FD
    g_sector = float(jax.grad(lambda r: erg(r, "sector"))(0.0))
    assert np.isfinite(g_dense)
    assert abs(g_dense - fd) < 1e-5 * max(1.0, abs(fd))
    assert abs(g_dense - g_sector) < 1e-7


@pytest.mark.slow
def test_multi_cell_gradient_at_zero_temperature():
    """Bath L at T = 0: its absorption rate is 0 and (T -> 0) flat, so both the gradient and the
    one-sided finite difference are 0 (finite, not NaN) for the steady and the evolved energy."""
    def steady(T):
        return two_cell(T, 0.5, 0.2).steady_ergotropy()

    def evolved(T):
        m = two_cell(T, 0.5, 0.2)
        return m.energy(m.evolve(jnp.array([0.0, 1.0])))[-1]

    for f in (steady, evolved):
        g = float(jax.grad(f)(0.0))
        fd = (float(f(H_FD)) - float(f(0.0))) / H_FD
        assert np.isfinite(g) and abs(g - fd) < 1e-9


# ---------------------------------------------------------------------------------------------
# 7. the protocol's evolve and ergotropy_curve
# ---------------------------------------------------------------------------------------------


def test_protocol_evolve_checks_times_and_start():
    m = ChargerBattery(1.0, gamma=0.2)
    with pytest.raises(ValueError, match="ts must be strictly increasing"):
        m.evolve(jnp.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="ts must not start before t0"):
        m.ergotropy_curve(jnp.array([-1.0, 0.5]))
    with pytest.raises(ValueError, match="rho0 is not positive semidefinite"):
        m.evolve(jnp.array([0.0, 1.0]), np.diag([1.5, -0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"rho0 must have shape \(\.\.\., 4, 4\)"):
        m.curves(jnp.array([0.5, 1.0]), np.eye(2) / 2)
    _raises_traced(lambda ts: m.evolve(ts), jnp.array([1.0, 0.5]), "ts must be strictly increasing")
