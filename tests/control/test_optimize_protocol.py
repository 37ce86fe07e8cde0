"""qb.optimize_protocol and the protocol objectives on the charger-battery pair (Downing & Ukhtary).

The charger in |1> (theta = pi: the model's charger state is cos(theta/2)|0> + e^{i phi} sin(theta/2)|1>),
gamma = 0: H = omega_b (na + nb) + J(t) (sa^dag sb + h.c.) with [na + nb, hop] = 0, so the state at t1
depends on the pulse area A = int_0^t1 J dt only and E_b(t1) = omega_b sin^2(A).  With 0 <= J <= J_max
and J_max t1 < pi/2 the optimum is J = J_max throughout, E = omega_b sin^2(J_max t1).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import qbjax as qb
from qbjax.control import PiecewiseConstant, PiecewiseLinear, protocol_value
from qbjax.models.charger_battery import ChargerBattery, closed_form

J_MAX, T1, OMEGA_B = 1.0, 1.2, 1.3


def excited_charger(values):
    return ChargerBattery(theta=jnp.pi, J=values["J"], omega_b=OMEGA_B)


def lossy_charger(values):  # a mixed charger and decay: ergotropy and capacity differ from the energy
    return ChargerBattery(theta=2.0, phi=0.4, J=values["J"], omega_b=OMEGA_B, gamma=0.3)


@pytest.mark.slow
def test_bang_bang_optimum_reaches_the_closed_form():
    u = PiecewiseConstant(0.5, T1, n=10, bounds=(0.0, J_MAX))
    r = qb.optimize_protocol(excited_charger, {"J": u}, "energy", T1, optimizer=optax.rprop(0.5), steps=60, starts=2)
    exact = OMEGA_B * np.sin(J_MAX * T1) ** 2
    assert abs(r.objective - exact) / exact < 1e-6
    np.testing.assert_allclose(r.controls["J"].values(), J_MAX, rtol=0, atol=1e-6)  # at the bound throughout
    assert r.history.shape == (60, 2) and r.n_steps == 60 and r.values.shape == (2,)
    assert r.objective == pytest.approx(np.max(r.values), rel=1e-14) and r.objective >= np.max(r.history) - 1e-12
    assert r.energy[-1] == pytest.approx(r.objective, rel=1e-7) and r.energy[0] == pytest.approx(0.0, abs=1e-12)
    assert r.wall_s > 0


def test_energy_depends_on_the_pulse_area_only():
    rng = np.random.default_rng(3)
    area = 0.9
    flat = PiecewiseConstant(area / T1, T1, n=1)
    ragged = rng.uniform(0.1, 1.0, size=8)
    ragged = PiecewiseConstant(ragged * area / (np.mean(ragged) * T1), T1)  # same area, another shape
    ramp = PiecewiseLinear([0.0, 2 * area / T1], T1)  # linear ramp of the same area
    energies = [float(protocol_value(excited_charger, {"J": u}, "energy", T1)) for u in (flat, ragged, ramp)]
    np.testing.assert_allclose(energies, OMEGA_B * np.sin(area) ** 2, rtol=1e-8, atol=0)


@pytest.mark.parametrize("objective", ["energy", "ergotropy", "capacity", "power", "ergotropic-power"])
def test_constant_control_reproduces_the_model(objective):
    J = 0.7
    model = lossy_charger({"J": J})
    rho = model.evolve(jnp.array([T1]))[0]
    ref = {"energy": model.energy(rho), "ergotropy": model.ergotropy(rho), "capacity": model.capacity(rho),
           "power": (model.energy(rho) - model.energy(model.initial_state())) / T1,
           "ergotropic-power": model.ergotropy(rho) / T1}[objective]
    got = protocol_value(lossy_charger, {"J": PiecewiseConstant(J, T1, n=3)}, objective, T1, rtol=1e-11, atol=1e-13)
    assert float(got) == pytest.approx(float(ref), rel=1e-8, abs=1e-12)
    if objective == "energy":  # and the paper's closed form at gamma = 0 (Eq. 30: E = omega_b sin^2(theta/2) sin^2(Jt))
        closed = closed_form(np.pi, T1, J=J, omega_b=OMEGA_B)["energy"]
        e = protocol_value(excited_charger, {"J": PiecewiseConstant(J, T1, n=2)}, "energy", T1)
        assert float(e) == pytest.approx(float(closed), rel=1e-8)


def test_stored_ergotropy_against_two_model_evolutions():
    J, J_off, t_store = 0.8, 0.25, 0.9
    charged = lossy_charger({"J": J}).evolve(jnp.array([T1]))[0]
    stored = lossy_charger({"J": J_off})
    ref = stored.ergotropy(stored.evolve(jnp.array([t_store]), rho0=charged)[0])
    got = protocol_value(lossy_charger, {"J": PiecewiseConstant(J, T1, n=2)}, "stored-ergotropy", T1,
                         t_store=t_store, off={"J": J_off}, rtol=1e-11, atol=1e-13)
    assert float(got) == pytest.approx(float(ref), rel=1e-8)


# power and ergotropic power are (E(t1) - E(0)) / t1 and ergotropy / t1: their gradient runs are slow-marked
_SLOW = pytest.mark.slow


@pytest.mark.parametrize("objective", ["energy", pytest.param("ergotropy", marks=_SLOW),
                                       pytest.param("capacity", marks=_SLOW), pytest.param("power", marks=_SLOW),
                                       pytest.param("ergotropic-power", marks=_SLOW),
                                       pytest.param("stored-ergotropy", marks=_SLOW)])
def test_gradients_against_central_differences(objective):
    """Reverse mode through diffrax against central differences along a random direction (step
    h = 1e-4 in z; tolerances rtol 1e-12 / atol 1e-14 so that solver noise stays below 1e-10)."""
    rng = np.random.default_rng(11)
    u = PiecewiseConstant(rng.uniform(0.2, 1.2, size=4), T1, bounds=(0.0, 1.5))
    opts = {"rtol": 1e-12, "atol": 1e-14}
    if objective == "stored-ergotropy":
        opts.update(t_store=0.7, off=0.2)

    def f(z):
        return protocol_value(lossy_charger, {"J": u.with_params(z)}, objective, T1, **opts)

    value_and_grad = jax.value_and_grad(f)  # one compilation serves the gradient and the differences
    z0 = u.z
    grad = np.asarray(value_and_grad(z0)[1])
    v = rng.normal(size=4)
    h = 1e-4
    fd = (float(value_and_grad(z0 + h * v)[0]) - float(value_and_grad(z0 - h * v)[0])) / (2 * h)
    assert float(grad @ v) == pytest.approx(fd, rel=1e-5)
    assert abs(fd) > 1e-3  # a real derivative, not a zero matched by a zero


@pytest.mark.slow
def test_penalty_and_starts_are_reported():
    u = PiecewiseConstant(0.5, T1, n=4, bounds=(0.0, J_MAX))
    r = qb.optimize_protocol(excited_charger, {"J": u}, "energy", T1, steps=5, starts=3, seed=1,
                             penalty={"fluence": 0.1, "roughness": 0.01}, n_save=11)
    best = r.controls["J"]
    expected = -r.objective + 0.1 * float(best.fluence()) + 0.01 * float(best.roughness())
    assert r.loss == pytest.approx(expected, rel=1e-10)
    assert r.history.shape == (5, 3) and r.ts.shape == (11,) and r.ergotropy.shape == (11,)


def test_bad_input_names_the_argument():
    u = PiecewiseConstant(0.5, T1, n=4, bounds=(0.0, J_MAX))
    with pytest.raises(ValueError, match="t1"):
        qb.optimize_protocol(excited_charger, {"J": u}, "energy", 0.0)
    with pytest.raises(ValueError, match="t1"):
        qb.optimize_protocol(excited_charger, {"J": u}, "energy", -1.0)
    with pytest.raises(ValueError, match="bounds"):
        qb.optimize_protocol(excited_charger, {"J": PiecewiseConstant(0.5, T1, n=4, bounds=(1.0, 0.0))}, "energy", T1)
    with pytest.raises(ValueError, match="objective"):
        qb.optimize_protocol(excited_charger, {"J": u}, "entropy", T1)
    with pytest.raises(ValueError, match="steps"):
        qb.optimize_protocol(excited_charger, {"J": u}, "energy", T1, steps=0)
    with pytest.raises(ValueError, match="t_store"):
        qb.optimize_protocol(excited_charger, {"J": u}, "stored-ergotropy", T1)
    with pytest.raises(ValueError, match="controls"):
        qb.optimize_protocol(excited_charger, {"J": PiecewiseConstant(0.5, 2 * T1, n=4)}, "energy", T1)
    with pytest.raises(ValueError, match=r"model_fn.*J \(charger-battery coupling\) must be >= 0"):  # the model's own rule, at the lower bound
        qb.optimize_protocol(excited_charger, {"J": PiecewiseConstant(0.5, T1, n=4, bounds=(-1.0, 1.0))},
                             "energy", T1)


@pytest.mark.slow
def test_optimised_stored_ergotropy_matches_segment_by_segment_model_evolution():
    # end to end: optimise a 3-segment J(t) for the ergotropy left after storage (lossy charger), then
    # re-evaluate the returned protocol independently of qbjax.control: the model's own evolve with a
    # constant J on each segment, chained, then t_store with J = 0
    from qbjax.control import Fourier

    t_store = 0.5
    u = PiecewiseConstant([0.3, 0.5, 0.7], T1, bounds=(0.0, J_MAX))
    start = float(protocol_value(lossy_charger, {"J": u}, "stored-ergotropy", T1, t_store=t_store))
    r = qb.optimize_protocol(lossy_charger, {"J": u}, "stored-ergotropy", T1, optimizer=optax.rprop(0.3), steps=15,
                             t_store=t_store)
    assert r.objective > start
    J = np.asarray(r.controls["J"].values())
    assert np.all((J > 0) & (J < J_MAX))
    rho = lossy_charger({"J": 0.0}).initial_state()
    for Jk in J:
        rho = lossy_charger({"J": float(Jk)}).evolve(jnp.array([T1 / 3]), rho0=rho)[0]
    off = lossy_charger({"J": 0.0})
    rho = off.evolve(jnp.array([t_store]), rho0=rho)[0]
    assert float(off.ergotropy(rho)) == pytest.approx(r.objective, rel=1e-7)
    # a Fourier control on the same problem: its objective is what protocol_value gives for it
    f = Fourier.constant(0.5, 3, T1, bounds=(0.0, J_MAX))
    rf = qb.optimize_protocol(lossy_charger, {"J": f}, "ergotropic-power", T1, optimizer=optax.adam(0.1), steps=10)
    again = float(protocol_value(lossy_charger, rf.controls, "ergotropic-power", T1))
    assert again == pytest.approx(rf.objective, rel=1e-10)
    assert rf.objective >= float(protocol_value(lossy_charger, {"J": f}, "ergotropic-power", T1))
