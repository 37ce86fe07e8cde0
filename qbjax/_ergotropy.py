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
Every function checks that ``rho`` is a density matrix (finite, Hermitian, unit trace, positive, to
1e-6 in float64) and ``H`` a finite Hermitian matrix, raising ``ValueError`` naming the argument
(``eqx.error_if`` under ``jit``/``vmap``); ``validate=False`` or ``qb.set_validation(False)`` skips
the checks.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._interop import accepts_qobj
from ._validate import check_hamiltonian, check_square, check_state, state_and_spectrum, validation_enabled


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


def _checked(rho, H, validate: bool, spectra: bool):
    """``(rho, H, r, e)``: validated inputs and, with ``spectra``, their ascending eigenvalues."""
    rho, H = _pair(rho, H)
    if validate and validation_enabled():
        H = check_hamiltonian(H, "H")
        if spectra:
            rho, r = state_and_spectrum(rho, "rho")
        else:
            rho, r = check_state(rho, "rho"), None
    else:
        r = jnp.linalg.eigvalsh(rho) if spectra else None
    e = jnp.linalg.eigvalsh(H) if spectra else None
    return rho, H, r, e


def _energy(rho, H):
    return jnp.real(jnp.einsum("...ij,...ji->...", rho, H))


@accepts_qobj
def energy(rho, H, *, validate: bool = True):
    """Mean energy E = Tr(rho H).

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> qb.energy(qb.ket2dm(qb.basis(2, 1)), jnp.diag(jnp.array([0.0, 1.0])))  # 1.0
    """
    rho, H, _, _ = _checked(rho, H, validate, spectra=False)
    return _energy(rho, H)


@accepts_qobj
def passive_energy(rho, H, *, validate: bool = True):
    """Passive energy E_p = sum_k r_k^desc e_k^asc (Allahverdyan, Balian, Nieuwenhuizen, EPL 67, 565 (2004)).

    The energy of the passive state of ``rho``: its eigenvalues r_k in descending order on the
    levels e_k of ``H`` in ascending order, the lowest energy any unitary can reach.  Only the
    spectra enter (``eigvalsh``), so gradients are finite at degenerate spectra.

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> qb.passive_energy(jnp.diag(jnp.array([0.2, 0.8])), jnp.diag(jnp.array([0.0, 1.0])))  # 0.2
    """
    _, _, r, e = _checked(rho, H, validate, spectra=True)
    return jnp.sum(r[..., ::-1] * e, axis=-1)


@accepts_qobj
def active_energy(rho, H, *, validate: bool = True):
    """Active energy E_a = sum_k r_k^asc e_k^asc, the highest energy a unitary can reach.

    The eigenvalues r_k of ``rho`` in ascending order on the levels e_k of ``H`` in ascending order.

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> qb.active_energy(jnp.diag(jnp.array([0.8, 0.2])), jnp.diag(jnp.array([0.0, 1.0])))  # 0.8
    """
    _, _, r, e = _checked(rho, H, validate, spectra=True)
    return jnp.sum(r * e, axis=-1)


@accepts_qobj
def ergotropy(rho, H, *, validate: bool = True):
    """Ergotropy W = Tr(rho H) - E_p >= 0, the most work a cyclic unitary extracts.

    E_p = sum_k r_k^desc e_k^asc is the passive energy (Allahverdyan, Balian, Nieuwenhuizen,
    EPL 67, 565 (2004)).  Only the spectra of ``rho`` and ``H`` enter besides Tr(rho H), so the
    gradient is finite at degenerate spectra.

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> H = jnp.diag(jnp.array([0.0, 1.0]))
        >>> qb.ergotropy(qb.ket2dm(qb.basis(2, 1)), H)  # 1.0: the excited state is fully charged
    """
    rho, H, r, e = _checked(rho, H, validate, spectra=True)
    return _energy(rho, H) - jnp.sum(r[..., ::-1] * e, axis=-1)


@accepts_qobj
def antiergotropy(rho, H, *, validate: bool = True):
    """Antiergotropy Tr(rho H) - E_a <= 0: minus the most work a cyclic unitary can deposit.

    E_a = sum_k r_k^asc e_k^asc is the active energy.

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> qb.antiergotropy(qb.ket2dm(qb.basis(2, 0)), jnp.diag(jnp.array([0.0, 1.0])))  # -1.0
    """
    rho, H, r, e = _checked(rho, H, validate, spectra=True)
    return _energy(rho, H) - jnp.sum(r * e, axis=-1)


@accepts_qobj
def capacity(rho, H, *, validate: bool = True):
    """Battery capacity K = E_a - E_p (Yang et al., PRL 131, 030402 (2023)).

    The energy window the unitary orbit of ``rho`` spans: it depends on the spectrum of ``rho`` only
    (not on its eigenbasis), K = sum_k (r_k^asc - r_k^desc) e_k^asc >= 0.

    Args:
        rho: density matrix (..., d, d): finite, Hermitian, unit trace, positive (to 1e-6).
        H: Hamiltonian (..., d, d), Hermitian, units of energy (hbar = 1).  Batch dimensions of
            ``rho`` and ``H`` broadcast.
        validate: check ``rho`` and ``H`` (default); ``False`` skips the checks in hot loops.

    Returns:
        real array of shape ``broadcast(rho.shape[:-2], H.shape[:-2])``, units of ``H``.

    Raises:
        ValueError: naming ``rho`` or ``H`` when a check fails (``eqx.error_if`` under ``jit``/``vmap``).

    Example:
        >>> qb.capacity(jnp.diag(jnp.array([1.0, 0.0])), jnp.diag(jnp.array([0.0, 1.0])))  # 1.0
    """
    _, _, r, e = _checked(rho, H, validate, spectra=True)
    return jnp.sum((r - r[..., ::-1]) * e, axis=-1)
