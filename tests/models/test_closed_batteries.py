"""Closed-system batteries evolved as kets (qb.sesolve).

References: qb.evolve on the density matrix (ChargerBattery at gamma = 0, whose evolve is checked
against the paper's closed forms in test_charger_battery.py), the paper's lossless energy
E = omega_b sin^2(theta/2) sin^2(J t) (Eq. 30), and a closed form for a Dicke battery (N qubits
rotated collectively by a resonant classical drive) with its gradient against central finite
differences (reverse mode through qb.sesolve).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb

TS = np.linspace(0.0, 4.0, 9)


# -m slow (~17 s); by default sesolve is checked against QuTiP and closed forms
# (tests/core/test_sesolve.py) and through the Dicke battery below
@pytest.mark.slow
def test_charger_evolve_ket_equals_evolve_at_gamma_zero():
    thetas = jnp.array([np.pi / 3, np.pi / 2])
    m = qb.models.ChargerBattery(thetas, phi=0.4, J=1.2)
    psi = m.evolve_ket(TS)
    assert psi.shape == (2, 9, 4)
    rho = qb.ket2dm(psi)
    np.testing.assert_allclose(rho, m.evolve(TS, solver="expm"), atol=1e-9)
    E = np.sin(np.asarray(thetas)[:, None] / 2) ** 2 * np.sin(1.2 * TS) ** 2  # Eq. (30), omega_b = 1
    np.testing.assert_allclose(m.energy(rho), E, atol=1e-9)
    with pytest.raises(ValueError, match="gamma must be 0 for evolve_ket"):
        qb.models.ChargerBattery(1.0, gamma=0.1).evolve_ket(TS)
    with pytest.raises(ValueError, match="psi0 is not normalised"):
        m.evolve_ket(TS, psi0=jnp.ones(4))


def test_dicke_battery_charged_by_a_resonant_drive_closed_form_and_gradient():
    # N qubits in the symmetric Dicke space (qb.dicke_operators), H = Omega J_x in the frame rotating
    # at the level splitting omega, from the ground state |J, -J>: every qubit rotates alone, so the
    # stored energy E(t) = <omega (J_z + N/2)> = N omega sin^2(Omega t / 2), and the ergotropy
    # equals E (a pure state; its passive state is the ground state, of energy 0).
    N, omega, Omega = 4, 1.0, 0.8
    Jz, Jp, Jm = qb.dicke_operators(N)
    Hb = omega * (Jz + N / 2 * jnp.eye(N + 1))
    psi0 = qb.basis(N + 1, N)  # index N holds M = -J

    def charge(Om):  # E at the last time, and (E, ergotropy) along TS
        rho = qb.ket2dm(qb.sesolve(0.5 * Om * (Jp + Jm), psi0, TS))
        E = qb.energy(rho, Hb)
        return E[-1], (E, qb.ergotropy(rho, Hb))

    # one compiled program: the curves, E(T) and its gradient (reverse mode through the solve,
    # RecursiveCheckpointAdjoint)
    f = jax.jit(jax.value_and_grad(charge, has_aux=True))
    (_, (E, erg)), grad = f(Omega)
    ref = N * omega * np.sin(Omega * TS / 2) ** 2
    np.testing.assert_allclose(E, ref, atol=1e-9)
    np.testing.assert_allclose(erg, ref, atol=1e-8)
    h, T = 1e-4, TS[-1]
    fd = (f(Omega + h)[0][0] - f(Omega - h)[0][0]) / (2 * h)  # central finite difference
    np.testing.assert_allclose(grad, fd, rtol=1e-6)
    np.testing.assert_allclose(grad, N * omega * T * np.sin(Omega * T) / 2, rtol=1e-7)  # closed form
