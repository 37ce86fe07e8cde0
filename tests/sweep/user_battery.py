"""A battery that is not one of qbjax's models, written with the core API only (for the sweep tests).

A driven qubit battery in a thermal bath: H = (omega / 2) sigma_z + Omega sigma_x (units of energy,
hbar = k_B = 1), jump operators sqrt(gamma (n + 1)) sigma_- and sqrt(gamma n) sigma_+ with the
Bose-Einstein occupation n(omega, T).  ``features`` maps one configuration to the steady state's
energy, ergotropy and purity, and its two populations (a fixed-shape array output).
"""

import jax.numpy as jnp

import qbjax as qb

SM = jnp.array([[0.0, 0.0], [1.0, 0.0]], dtype=complex)  # |g><e| in the basis (e, g)
SZ = jnp.diag(jnp.array([1.0, -1.0], dtype=complex))
SX = jnp.array([[0.0, 1.0], [1.0, 0.0]], dtype=complex)


def features(config):
    omega, drive, gamma, T = config["omega"], config["Omega"], config["gamma"], config["T"]
    n = qb.bose_einstein(omega, T)
    H = 0.5 * omega * SZ + drive * SX
    L = qb.liouvillian(H, [jnp.sqrt(gamma * (n + 1.0)) * SM, jnp.sqrt(gamma * n) * SM.conj().T])
    rho = qb.steady_state(L)
    H0 = 0.5 * omega * SZ
    return {"energy": qb.energy(rho, H0), "ergotropy": qb.ergotropy(rho, H0), "purity": qb.purity(rho),
            "populations": jnp.real(jnp.diagonal(rho))}


def grid():
    """The grid the scale-out tests sweep: 6 x 5 x 4 x 4 = 480 configurations."""
    return qb.grid.product(omega=jnp.linspace(0.5, 2.0, 6), Omega=jnp.linspace(0.0, 1.0, 5),
                           gamma=[0.05, 0.1, 0.2, 0.4], T=[0.1, 0.5, 1.0, 2.0])
