"""The ket solver qb.sesolve.

References: closed forms (the detuned Rabi formula), qutip.sesolve with tight tolerances (a random
time-dependent 4x4 Hamiltonian), qb.evolve with solver="expm" on |psi><psi| (itself checked against
SciPy in test_evolve.py).  The closed-system batteries solved with it (ChargerBattery.evolve_ket, a
Dicke battery) and the reverse-mode gradient (against central finite differences) are in
tests/models/test_closed_batteries.py.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qbjax as qb
from _core_ref import rand_herm

SX = np.array([[0.0, 1.0], [1.0, 0.0]])
SZ = np.diag([1.0, -1.0])
UP, DOWN = np.array([1.0, 0.0], dtype=complex), np.array([0.0, 1.0], dtype=complex)
TS = np.linspace(0.0, 6.0, 9)  # one set of times (and few shapes): each new shape is a new compile


def test_detuned_rabi_populations_closed_form_batched():
    # H = (Delta/2) sz + (Omega/2) sx: from |0> (sz = +1) or |1>, the other level is populated with
    # P(t) = (Omega/W)^2 sin^2(W t / 2), W = sqrt(Omega^2 + Delta^2)
    omegas = np.array([0.7, 1.3, 2.0])
    delta = 0.4
    H = 0.5 * delta * SZ + 0.5 * omegas[:, None, None, None] * SX  # (3, 1, 2, 2) against kets (2, 2)
    psi = np.asarray(qb.sesolve(H, np.stack([UP, DOWN]), TS))
    assert psi.shape == (3, 2, 9, 2)
    W = np.sqrt(omegas**2 + delta**2)[:, None]
    ref = (omegas[:, None] / W) ** 2 * np.sin(W * TS / 2) ** 2
    np.testing.assert_allclose(np.abs(psi[:, 0, :, 1]) ** 2, ref, atol=1e-9)
    np.testing.assert_allclose(np.abs(psi[:, 1, :, 0]) ** 2, ref, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(psi, axis=-1), 1.0, atol=1e-9)


def test_time_dependent_vs_qutip_sesolve():
    rng = np.random.default_rng(0)
    H0, H1 = rand_herm(rng, 4), rand_herm(rng, 4)
    psi0 = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi0 /= np.linalg.norm(psi0)
    ts = np.linspace(0.0, 5.0, 11)
    got = np.asarray(qb.sesolve(lambda t: H0 + jnp.cos(t) * H1, psi0, ts))
    res = qutip.sesolve([qutip.Qobj(H0), [qutip.Qobj(H1), lambda t: np.cos(t)]], qutip.Qobj(psi0), ts,
                        options={"atol": 1e-13, "rtol": 1e-11, "nsteps": 100000})
    ref = np.stack([s.full().ravel() for s in res.states])
    np.testing.assert_allclose(got, ref, atol=1e-8)


def test_closed_system_equals_evolve_of_the_density_matrix_and_takes_qobj():
    rng = np.random.default_rng(1)
    H = rand_herm(rng, 2)
    psi0 = np.array([0.6, 0.8j])
    psi = qb.sesolve(H, psi0, TS)
    rho = qb.evolve(qb.liouvillian(H), qb.ket2dm(psi0), TS, solver="expm")
    np.testing.assert_allclose(qb.ket2dm(psi), rho, atol=1e-9)
    np.testing.assert_allclose(qb.sesolve(qutip.Qobj(H), qutip.Qobj(psi0), TS), psi, atol=1e-14)


def test_bad_input_names_the_argument():
    H = 0.5 * SX
    ts = TS
    cases = [
        (dict(psi0=np.array([1.0, 1.0])), "psi0 is not normalised"),
        (dict(psi0=np.array([np.nan, 1.0])), "psi0 contains NaN"),
        (dict(H=np.eye(3)), r"H of shape \(3, 3\) .* \(psi0\)"),
        (dict(H=np.array([[0.0, 1.0], [0.0, 0.0]])), "H is not Hermitian"),
        (dict(H=np.array([[np.inf, 0.0], [0.0, 0.0]])), "H contains inf"),
        (dict(H=lambda t: jnp.array([[0.0, 1.0 + t], [0.0, 0.0]])), r"H\(t0\) is not Hermitian"),
        (dict(ts=ts[::-1]), "ts must be strictly increasing"),
        (dict(ts=ts, t0=0.5), "ts must not start before t0"),
        (dict(ts=np.zeros((2, 2))), "ts must be one-dimensional"),
    ]
    for kw, msg in cases:
        args = {"H": H, "psi0": UP, "ts": ts, **kw}
        t0 = args.pop("t0", None)
        with pytest.raises(ValueError, match=msg):
            qb.sesolve(args["H"], args["psi0"], args["ts"], t0=t0)
    # traced: the same message at run time
    with pytest.raises(Exception, match="psi0 is not normalised"):
        jax.block_until_ready(eqx.filter_jit(lambda p: qb.sesolve(H, p, ts))(jnp.array([1.0, 1.0 + 0j])))
