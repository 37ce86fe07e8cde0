"""Bad input gives a clear ValueError naming the argument (or, for traced values and runtime
conditions, an equinox runtime error with the same message), never a silent wrong number."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb
from qbjax._steady import null_vector
from qbjax._superop import unvec

H2 = np.diag([0.0, 1.0])
RHO2 = np.array([[0.3, 0.2], [0.2, 0.7]])
SM = np.array([[0.0, 1.0], [0.0, 0.0]])
L2 = qb.liouvillian(H2, [0.5 * SM])
TS = np.linspace(0.0, 1.0, 3)
FAMILY = ["energy", "passive_energy", "active_energy", "ergotropy", "antiergotropy", "capacity"]


@pytest.mark.parametrize("name", FAMILY)
def test_ergotropy_family_shapes(name):
    f = getattr(qb, name)
    with pytest.raises(ValueError, match="rho must be a square"):
        f(np.ones((2, 3)), H2)
    with pytest.raises(ValueError, match="rho must be a square"):
        f(np.ones(2), H2)
    with pytest.raises(ValueError, match="H must be a square"):
        f(RHO2, np.ones((3, 2)))
    with pytest.raises(ValueError, match="rho and H must have the same dimension"):
        f(np.eye(3) / 3, H2)
    with pytest.raises(ValueError, match="batch shapes of rho .* and H .* do not broadcast"):
        f(np.stack([RHO2] * 3), np.stack([H2] * 2))


@pytest.mark.parametrize("name", [n for n in FAMILY if n != "energy"])
def test_ergotropy_family_not_hermitian(name):
    # eigvalsh reads one triangle only: a non-Hermitian input would give a silent wrong number
    f = getattr(qb, name)
    with pytest.raises(ValueError, match="rho is not Hermitian"):
        f(np.array([[0.3, 0.5], [0.0, 0.7]]), H2)
    with pytest.raises(ValueError, match="H is not Hermitian"):
        f(RHO2, np.array([[0.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(Exception, match="rho is not Hermitian"):  # traced: eqx.error_if at run time
        jax.block_until_ready(jax.jit(f)(jnp.array([[0.3, 0.5], [0.0, 0.7]]), jnp.asarray(H2)))
    # round-off-level asymmetry is accepted
    f(RHO2 + 1e-12 * np.array([[0, 1], [0, 0]]), H2)


def test_states_bad_input():
    with pytest.raises(ValueError, match="rho must be a square"):
        qb.purity(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rho1 and rho2 must have the same dimension"):
        qb.trace_distance(RHO2, np.eye(3) / 3)
    with pytest.raises(ValueError, match="rho2 is not Hermitian"):
        qb.trace_distance(RHO2, np.array([[0.5, 0.3], [0.0, 0.5]]))
    with pytest.raises(ValueError, match=r"rho must have shape \(\.\.\., 4, 4\)"):
        qb.concurrence(RHO2)
    with pytest.raises(ValueError, match="rho is not Hermitian"):
        qb.concurrence(np.triu(np.ones((4, 4))) / 4)
    with pytest.raises(ValueError, match="does not match prod\\(dims\\)"):
        qb.partial_trace(np.eye(4) / 4, (2, 3), 0)
    with pytest.raises(ValueError, match="keep must name subsystems"):
        qb.partial_trace(np.eye(4) / 4, (2, 2), 2)
    with pytest.raises(ValueError, match="keep must name subsystems"):
        qb.partial_trace(np.eye(4) / 4, (2, 2), -1)
    with pytest.raises(ValueError, match="dims must be .* positive"):
        qb.partial_trace(np.eye(4) / 4, (-2, -2), 0)
    with pytest.raises(ValueError, match="rho must be a square"):
        qb.partial_trace(np.ones((4, 2)), (2, 2), 0)


def test_superop_steady_bad_input():
    with pytest.raises(ValueError, match="H must be a square"):
        qb.liouvillian(np.ones((2, 3)), [])
    with pytest.raises(ValueError, match="jump_ops must have shape"):
        qb.liouvillian(H2, [np.eye(3)])
    with pytest.raises(ValueError, match="jump_ops must have shape"):
        qb.liouvillian(H2, np.eye(2))  # one operator without the K axis
    with pytest.raises(ValueError, match="L must be a square"):
        qb.steady_state(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"L must be a \(d\^2, d\^2\) superoperator"):
        qb.steady_state(np.eye(5))
    with pytest.raises(ValueError, match="trace functional must have shape"):
        null_vector(np.zeros((3, 3)), np.ones(2))
    with pytest.raises(ValueError, match="is not a vectorised"):
        unvec(np.ones(5))


def test_evolve_bad_input():
    with pytest.raises(ValueError, match="rho0 must be a square"):
        qb.evolve(L2, np.ones((2, 3)), TS)
    with pytest.raises(ValueError, match="L must be a square"):
        qb.evolve(np.ones((4, 3)), RHO2, TS)
    with pytest.raises(ValueError, match="ts must be one-dimensional"):
        qb.evolve(L2, RHO2, np.ones((2, 2)))
    for solver in (None, "expm"):
        with pytest.raises(ValueError, match=r"does not act on 3x3 density matrices \(rho0\)"):
            qb.evolve(L2, np.eye(3) / 3, TS, solver=solver)
    with pytest.raises(ValueError, match=r"L\(t\) must return a \(4, 4\) superoperator"):
        qb.evolve(lambda t: jnp.eye(9), RHO2, TS)
    with pytest.raises(ValueError, match="solver='expm' needs a time-independent L"):
        qb.evolve(lambda t: L2, RHO2, TS, solver="expm")


def test_cumulants_bad_input():
    gen = lambda lam: L2
    with pytest.raises(ValueError, match="order must be >= 1"):
        qb.cumulants(gen, order=0)
    with pytest.raises(ValueError, match="pass trace="):
        qb.cumulants(lambda lam: jnp.eye(3))
    with pytest.raises(ValueError, match=r"trace must have shape \(4,\)"):
        qb.cumulants(gen, order=1, trace=jnp.ones(3))


def test_bose_einstein_bad_input():
    with pytest.raises(ValueError, match="T must be >= 0"):
        qb.bose_einstein(1.0, -0.5)
    with pytest.raises(ValueError, match="omega must be > 0"):
        qb.bose_einstein(0.0, 1.0)
    with pytest.raises(ValueError, match="omega must be > 0"):
        qb.bose_einstein(np.array([1.0, -1.0]), 1.0)
    with pytest.raises(Exception, match="T must be >= 0"):  # traced: eqx.error_if at run time
        jax.block_until_ready(jax.jit(qb.bose_einstein)(1.0, -0.5))


def test_precision_bad_input():
    with pytest.raises(ValueError, match="precision must be one of"):
        qb.set_precision("half")
    assert qb.get_precision() == "double"
