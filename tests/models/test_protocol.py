"""The battery protocol: every model answers the vocabulary of the table in ``qbjax.models``.

* the table in the ``qbjax.models`` docstring is parsed; each model has exactly the methods it marks
  (and lacks the ones marked "-"), and the README carries the same table;
* shapes follow the protocol's rules on a batch of two configurations: ``evolve`` -> (*b, n_t, ...),
  ``battery_state`` -> (..., d_B, d_B) with d_B from ``battery_hamiltonian``, ``ergotropy_curve`` equal
  to ``ergotropy(evolve(...))`` of shape (*b, n_t), every feature of shape ``batch_shape``;
* batched fields give what ``jax.vmap`` over models gives (and a Python loop);
* the models follow the abstract/final pattern (no concrete protocol method is overridden; no model is
  subclassed), and every declared constraint raises by name, eagerly and under ``jax.jit``;
* a user's own battery needs only H, H_B, jump operators, an initial state and its battery part: a driven,
  damped qubit checked against its closed-form steady state and against ``qb.evolve`` by hand.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb
from qbjax.models import AbstractBattery, AbstractLindbladBattery
from qbjax.models.micromaser import fine_tuned_g
from qbjax.models.multi_cell import three_cell

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["ChargerBattery", "FourLevelBattery", "MultiCellBattery", "Micromaser", "TavisCummingsBattery"]
FOUR = dict(T_c=0.5, T_h=4.0, T_l=1.0, p_c=0.7, p_h=0.6, tau=0.3, eps=0.3, eps_b=0.8, eps_a=2.3)


def _table():
    """{method: {model: cell}} from the Markdown table of the qbjax.models docstring."""
    lines = [ln for ln in qb.models.__doc__.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[1:] == MODELS
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rows[cells[0]] = dict(zip(MODELS, cells[1:]))
    return lines, rows


def _methods(key: str) -> list[str]:
    """Method names in a table row's first cell, e.g. '`energy(rho)`, `ergotropy(rho)`'."""
    return re.findall(r"`(\w+)\(", key)


def test_table_lists_what_each_model_has_and_lacks():
    _, rows = _table()
    for key, cells in rows.items():
        for name in _methods(key):
            for model, cell in cells.items():
                cls = getattr(qb.models, model)
                has = callable(getattr(cls, name, None)) and not getattr(getattr(cls, name), "__isabstractmethod__", False)
                assert has == (cell.strip() != "-" and not cell.startswith("- ")), (model, name, cell)
    for model, cell in rows["paper-specific"].items():
        for name in re.findall(r"`(\w+)`", cell):
            assert callable(getattr(getattr(qb.models, model), name)), (model, name)


def test_readme_shows_the_same_table():
    lines, _ = _table()
    readme = (ROOT / "README.md").read_text()
    for ln in lines:
        assert ln in readme, ln


def _batched_models():
    """Each model with a batch of two configurations (batched fields, or the unbatched model where the
    model keeps one configuration per instance) and a time grid."""
    return {
        "ChargerBattery": (qb.models.ChargerBattery(jnp.array([0.7, 2.0]), gamma=0.2), jnp.linspace(0.1, 2.0, 5)),
        "FourLevelBattery": (qb.models.FourLevelBattery(**{**FOUR, "T_h": jnp.array([3.0, 5.0])}),
                             jnp.linspace(0.0, 3.0, 5)),
        "MultiCellBattery": (three_cell(1.0, 0.6, 0.0, 0.1), jnp.linspace(0.0, 3.0, 5)),
        "Micromaser": (qb.models.Micromaser(jnp.array([fine_tuned_g(16), 0.9]), n_levels=40, q=0.2, on_truncation="ignore"),
                       np.array([0, 3, 10, 20, 40])),
        "TavisCummingsBattery": (qb.models.TavisCummingsBattery(2, jnp.array([0.0, 0.3])), jnp.linspace(0.0, 4.0, 5)),
    }


#: the models whose copy of a protocol test runs by default (the others run with -m slow: the same
#: generic code path, the longest compilations)
DEFAULT_MODELS = ("FourLevelBattery", "Micromaser")


def _default_or_slow(names):
    return [n if n in DEFAULT_MODELS else pytest.param(n, marks=pytest.mark.slow) for n in names]


@pytest.mark.parametrize("name", _default_or_slow(MODELS))
def test_shapes_follow_the_protocol(name):
    m, ts = _batched_models()[name]
    bs, nt = m.batch_shape, len(ts)
    dB = m.battery_hamiltonian().shape[-1]
    rho = m.evolve(ts)
    assert rho.shape[: len(bs) + 1] == bs + (nt,)
    rb = m.battery_state(rho)
    assert rb.shape == bs + (nt, dB, dB)
    np.testing.assert_allclose(np.trace(np.asarray(rb), axis1=-2, axis2=-1), 1.0, atol=1e-8)
    curve = m.ergotropy_curve(ts)
    assert curve.shape == bs + (nt,)
    np.testing.assert_allclose(np.asarray(curve), np.asarray(m.ergotropy(rho)), atol=1e-9)
    assert m.energy(rho).shape == bs + (nt,) and m.capacity(rho).shape == bs + (nt,)
    assert np.all(np.asarray(curve) >= -1e-9)
    H = m.hamiltonian()
    assert H.shape[-1] == H.shape[-2] and H.shape[:-2] in ((), bs)
    for key, value in m.features().items():
        assert jnp.shape(value) == bs, (key, jnp.shape(value))
    if hasattr(m, "steady_state"):
        if name == "ChargerBattery":
            m = qb.models.ChargerBattery(jnp.array([0.7, 2.0]), gamma=0.2)
        assert m.steady_ergotropy().shape == bs
    if hasattr(m, "liouvillian"):
        L = m.liouvillian(0.0)
        d = H.shape[-1]
        assert L.shape[-2:] == (d * d, d * d)
        np.testing.assert_allclose(np.asarray(L), np.asarray(qb.liouvillian(H, m.jump_ops(0.0))), atol=1e-12)


@pytest.mark.parametrize("name", _default_or_slow(["ChargerBattery", "FourLevelBattery", "Micromaser",
                                                   "TavisCummingsBattery"]))
def test_batched_fields_equal_vmap_over_models_and_a_loop(name):
    m, ts = _batched_models()[name]
    fields = {f: getattr(m, f) for f in m._array_fields()}
    batched = np.asarray(m.ergotropy_curve(ts))
    members = m.members()
    looped = np.stack([np.asarray(jax.tree_util.tree_map(lambda x: x[i], members).ergotropy_curve(ts))
                       for i in range(2)])
    np.testing.assert_allclose(batched, looped, atol=1e-9)
    if name != "Micromaser":  # the micromaser's collision counts are Python integers (static)
        vm = eqx.filter_vmap(lambda mm: mm.ergotropy_curve(ts))(members)
        np.testing.assert_allclose(batched, np.asarray(vm), atol=1e-9)
    assert set(fields) == set(members._array_fields())


def test_abstract_final_pattern():
    abstract = (AbstractBattery, AbstractLindbladBattery)
    for base in abstract:
        concrete = {k for k, v in vars(base).items() if callable(v) and not getattr(v, "__isabstractmethod__", False)
                    and not k.startswith("__")}
        for name in MODELS:
            cls = getattr(qb.models, name)
            if issubclass(cls, base):
                overridden = {k for k in concrete if k in vars(cls)}
                assert not overridden, f"{name} overrides {overridden} of {base.__name__}"
    for name in MODELS:
        cls = getattr(qb.models, name)
        assert not inspect.isabstract(cls), name
        assert not cls.__subclasses__(), f"{name} is final"


CONSTRAINED = [
    (qb.models.ChargerBattery, {"theta": 1.0}, "gamma", -0.1),
    (qb.models.ChargerBattery, {"theta": 1.0}, "J", -1.0),
    (qb.models.FourLevelBattery, FOUR, "T_h", -1.0),
    (qb.models.FourLevelBattery, FOUR, "p_c", 1.2),
    (qb.models.FourLevelBattery, FOUR, "eps_a", 0.5),
    (qb.models.Micromaser, {"g": 0.5, "n_levels": 10}, "q", 1.5),
    (qb.models.TavisCummingsBattery, {"n_qubits": 1}, "gamma0", -0.05),
]


@pytest.mark.parametrize("cls,kwargs,name,bad", CONSTRAINED, ids=[f"{c.__name__}-{n}" for c, _, n, _ in CONSTRAINED])
def test_each_constraint_raises_by_name_eagerly_and_traced(cls, kwargs, name, bad):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        cls(**{**kwargs, name: bad})
    run = jax.jit(lambda v: cls(**{**kwargs, name: v}).parameters())
    run(jnp.asarray(float(getattr(cls(**kwargs), name))))  # a valid traced value passes
    with pytest.raises(Exception, match=rf"\b{name}\b"):
        jax.block_until_ready(run(jnp.asarray(bad)))


# ---------------------------------------------------------------------------------------------
# a user's own battery
# ---------------------------------------------------------------------------------------------

SM = jnp.array([[0.0, 1.0], [0.0, 0.0]])  # |0><1| lowers the excited |1>


class DrivenQubit(AbstractLindbladBattery):
    """A resonantly driven qubit with spontaneous emission: H = w n + Omega sx, L = sqrt(gamma) sm."""

    omega: jax.Array = eqx.field(converter=jnp.asarray)
    drive: jax.Array = eqx.field(converter=jnp.asarray)
    gamma: jax.Array = eqx.field(converter=jnp.asarray)

    constraints = (qb._validate.positive("gamma"),)

    def hamiltonian(self):
        p = self.parameters(2)  # broadcast to the batch, two trailing axes for the operators
        return (p["omega"] * SM.T @ SM + p["drive"] * (SM + SM.T)).astype(complex)

    def battery_hamiltonian(self):
        return (self.parameters(2)["omega"] * SM.T @ SM).astype(complex)

    def jump_ops(self, t=0.0):
        return (jnp.sqrt(self.parameters(3)["gamma"]) * SM).astype(complex)  # (*batch, 1, 2, 2)

    def initial_state(self):
        return jnp.array([[1.0, 0.0], [0.0, 0.0]], dtype=complex)

    def battery_state(self, rho):
        return rho

    def features(self):
        return {"steady_ergotropy": self.steady_ergotropy()}


def _bloch_steady(omega, drive, gamma):
    """Closed-form steady state of the driven damped qubit in the frame of H (rotating-wave free):
    solve the 3 Bloch equations by NumPy (an independent linear solve, not qbjax)."""
    H = omega * np.array([[0, 0], [0, 1]]) + drive * np.array([[0, 1], [1, 0]])
    L = np.sqrt(gamma) * np.array([[0, 1], [0, 0]])
    sx, sy, sz = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])

    def rhs(r):
        rho = 0.5 * (np.eye(2) + r[0] * sx + r[1] * sy + r[2] * sz)
        d = -1j * (H @ rho - rho @ H) + L @ rho @ L.conj().T - 0.5 * (L.conj().T @ L @ rho + rho @ L.conj().T @ L)
        return np.real([np.trace(d @ s) for s in (sx, sy, sz)])

    b = rhs(np.zeros(3))
    A = np.stack([rhs(e) - b for e in np.eye(3)], axis=1)
    r = np.linalg.solve(A, -b)
    return 0.5 * (np.eye(2) + r[0] * sx + r[1] * sy + r[2] * sz)


def test_users_own_lindblad_battery_gets_the_protocol():
    m = DrivenQubit(1.0, 0.4, 0.2)
    rho_ref = _bloch_steady(1.0, 0.4, 0.2)
    np.testing.assert_allclose(np.asarray(m.steady_state()), rho_ref, atol=1e-12)
    w, e = np.linalg.eigvalsh(rho_ref), np.array([0.0, 1.0])
    erg_ref = np.real(rho_ref[1, 1]) - np.sum(w[::-1] * e)  # ABN formula, NumPy
    assert abs(float(m.steady_ergotropy()) - erg_ref) < 1e-12
    ts = jnp.linspace(0.0, 5.0, 11)
    by_hand = qb.evolve(qb.liouvillian(m.hamiltonian(), m.jump_ops()), m.initial_state(), ts, t0=0.0)
    np.testing.assert_allclose(np.asarray(m.evolve(ts)), np.asarray(by_hand), atol=1e-12)
    np.testing.assert_allclose(np.asarray(m.ergotropy_curve(ts)), np.asarray(qb.ergotropy(by_hand, m.battery_hamiltonian())),
                               atol=1e-12)
    batch = DrivenQubit(1.0, jnp.array([0.2, 0.4]), 0.2)
    np.testing.assert_allclose(np.asarray(batch.features()["steady_ergotropy"])[1], erg_ref, atol=1e-12)
    erg = lambda d: DrivenQubit(1.0, d, 0.2).steady_ergotropy()  # noqa: E731
    g = jax.jit(jax.grad(erg))(0.4)  # compiled (the steady-state gradient op by op takes seconds)
    fd = (float(jax.jit(erg)(0.4 + 1e-5)) - float(jax.jit(erg)(0.4 - 1e-5))) / 2e-5
    assert abs(float(g) - fd) < 1e-7
    with pytest.raises(ValueError, match="gamma"):
        DrivenQubit(1.0, 0.4, -0.2)


@pytest.mark.parametrize("name", ["charger", "tc-A", pytest.param("tc-B", marks=pytest.mark.slow)])
def test_model_operator_form_rhs_equals_its_liouvillian(name):
    # the operator-form right-hand side the control solves use, against the model's dense L(t) vec(rho)
    from qbjax._superop import vec

    model = {"charger": lambda: qb.models.ChargerBattery(0.4, J=0.7, gamma=0.2),
             "tc-A": lambda: qb.models.TavisCummingsBattery(2, detuning=0.3, n_cavity=4),
             "tc-B": lambda: qb.models.TavisCummingsBattery(3, detuning=0.3, environment="B", n_cavity=5)}[name]()
    d = model.initial_state().shape[-1]
    rng = np.random.default_rng(1)
    rho = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    for t in (0.0, 1.3):
        np.testing.assert_allclose(vec(model.lindblad_rhs(t, rho)), model.liouvillian(t) @ vec(rho), atol=1e-13)
