"""Energy, passive and active energies, ergotropy, antiergotropy and capacity.

For a state rho with eigenvalues r_k and a Hamiltonian H with eigenvalues e_1 <= ... <= e_d (units of
energy, hbar = 1):

    energy          E   = Tr(rho H)
    passive_energy  E_p = sum_k r_k^(descending) e_k          (Allahverdyan-Balian-Nieuwenhuizen)
    active_energy   E_a = sum_k r_k^(ascending)  e_k
    ergotropy           = E - E_p >= 0
    antiergotropy       = E - E_a <= 0
    capacity        K   = E_a - E_p   (Yang et al., PRL 131, 030402)

Only eigenvalues enter (``eigvalsh``), so gradients are finite at degenerate spectra of rho and H.
All functions accept leading batch dimensions on ``rho`` and ``H`` that broadcast against each other.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._validate import check_hermitian, check_square


def _pair(rho, H):
    """Square ``rho`` and ``H`` of the same dimension with broadcastable batch shapes."""
    rho = check_square(jnp.asarray(rho), "rho")
    H = check_square(jnp.asarray(H), "H")
    if rho.shape[-1] != H.shape[-1]:
        raise ValueError(f"rho and H must have the same dimension; got {rho.shape} and {H.shape}")
    try:
        jnp.broadcast_shapes(rho.shape[:-2], H.shape[:-2])
    except ValueError:
        raise ValueError(
            f"batch shapes of rho {rho.shape[:-2]} and H {H.shape[:-2]} do not broadcast"
        ) from None
    return rho, H


def _spectra(rho, H):
    rho, H = _pair(rho, H)
    rho = check_hermitian(rho, "rho")
    H = check_hermitian(H, "H")
    r = jnp.linalg.eigvalsh(rho)  # ascending
    e = jnp.linalg.eigvalsh(H)  # ascending
    return r, e


def energy(rho, H):
    """Mean energy Tr(rho H) (real part), shape ``broadcast(rho.shape[:-2], H.shape[:-2])``."""
    rho, H = _pair(rho, H)
    return jnp.real(jnp.einsum("...ij,...ji->...", rho, H))


def passive_energy(rho, H):
    """Energy of the passive state: populations in descending order on levels in ascending order."""
    r, e = _spectra(rho, H)
    return jnp.sum(r[..., ::-1] * e, axis=-1)


def active_energy(rho, H):
    """Energy of the active state: populations in ascending order on levels in ascending order."""
    r, e = _spectra(rho, H)
    return jnp.sum(r * e, axis=-1)


def ergotropy(rho, H):
    """Maximal work extractable by a cyclic unitary: Tr(rho H) - passive_energy(rho, H) >= 0."""
    return energy(rho, H) - passive_energy(rho, H)


def antiergotropy(rho, H):
    """Tr(rho H) - active_energy(rho, H) <= 0 (minus the most work a cyclic unitary can deposit)."""
    return energy(rho, H) - active_energy(rho, H)


def capacity(rho, H):
    """Battery capacity K = active_energy - passive_energy (independent of the eigenbasis of rho)."""
    r, e = _spectra(rho, H)
    return jnp.sum((r - r[..., ::-1]) * e, axis=-1)
