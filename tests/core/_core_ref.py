"""Independent NumPy references and random-input helpers shared by tests/core.

Nothing here imports qbjax: these are the reference implementations the core is checked against.
"""

import numpy as np


def rand_dm(rng, d, rank=None, batch=()):
    """Random density matrices (Ginibre W W^dagger / Tr), shape batch + (d, d)."""
    rank = d if rank is None else rank
    W = rng.normal(size=batch + (d, rank)) + 1j * rng.normal(size=batch + (d, rank))
    rho = W @ np.conj(np.swapaxes(W, -1, -2))
    return rho / np.trace(rho, axis1=-2, axis2=-1)[..., None, None]


def rand_herm(rng, d, batch=(), real=False):
    A = rng.normal(size=batch + (d, d))
    if not real:
        A = A + 1j * rng.normal(size=batch + (d, d))
    return 0.5 * (A + np.conj(np.swapaxes(A, -1, -2)))


def rand_unitary(rng, d):
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    Q, R = np.linalg.qr(A)
    return Q * (np.diag(R) / np.abs(np.diag(R)))


def np_ergotropy_family(rho, H):
    """One (d, d) state: energy, passive, active, ergotropy, antiergotropy, capacity.

    Built from the explicit passive/active STATES (eigenvectors of H with the rho populations sorted
    descending/ascending, Allahverdyan-Balian-Nieuwenhuizen), then Tr(sigma H): an independent route
    from qbjax's eigenvalue dot products.
    """
    rho = np.asarray(rho)
    H = np.asarray(H)
    r = np.linalg.eigvalsh(rho)
    e, V = np.linalg.eigh(H)
    passive = V @ np.diag(np.sort(r)[::-1]) @ V.conj().T
    active = V @ np.diag(np.sort(r)) @ V.conj().T
    E = np.trace(rho @ H).real
    Ep = np.trace(passive @ H).real
    Ea = np.trace(active @ H).real
    return {
        "energy": E,
        "passive_energy": Ep,
        "active_energy": Ea,
        "ergotropy": E - Ep,
        "antiergotropy": E - Ea,
        "capacity": Ea - Ep,
    }


def np_vec(rho):
    """Row-major vec (qbjax's convention), plain NumPy."""
    return np.asarray(rho).reshape(-1)


def np_lindblad_rhs(rho, H, cs):
    """-i[H, rho] + sum_k c rho c^dag - 1/2 {c^dag c, rho}, acting on the matrix directly."""
    out = -1j * (H @ rho - rho @ H)
    for c in cs:
        cd = c.conj().T
        out = out + c @ rho @ cd - 0.5 * (cd @ c @ rho + rho @ cd @ c)
    return out
