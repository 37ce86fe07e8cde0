"""The Schroedinger equation for kets, d psi/dt = -i H(t) psi (hbar = 1), with diffrax.

The closed-system companion of :func:`qbjax.evolve`: a d-dimensional ket instead of a d^2-dimensional
vec(rho), so a pure state of a closed system costs O(d^2) per step instead of O(d^4).  The same
machinery: the real representation (Re psi, Im psi) of the generator G = -i H, diffrax's PID
step-size control, ``RecursiveCheckpointAdjoint`` for reverse-mode gradients, one solve per batch
member (``vmap``).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._evolve import _solve_batched
from ._interop import accepts_qobj
from ._validate import check_hamiltonian, check_ket, check_square, check_times, validation_enabled


@accepts_qobj
def sesolve(
    H: jax.Array | Callable,
    psi0,
    ts,
    *,
    solver=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    t0=None,
    max_steps: int = 100_000,
    dt0=None,
    adjoint=None,
    validate: bool = True,
):
    """Evolve the ket ``psi0`` under the Hamiltonian ``H`` and return psi at the times ``ts``.

    Args:
        H: Hamiltonian (..., d, d) (units of energy = 1/time, hbar = 1), or a callable ``t -> H(t)``
            returning a (d, d) array (time-dependent Hamiltonians, e.g. ``lambda t: H0 + jnp.cos(t)
            * H1``).  A ``qutip.Qobj`` operator is accepted (:func:`qbjax.from_qutip`).
        psi0: initial ket (..., d), normalised (a ``qutip.Qobj`` ket is accepted).  Batch dimensions
            of ``psi0`` and of a matrix ``H`` broadcast; each batch element is its own solve.
        ts: strictly increasing save times, shape (n_t,), units of 1/energy.
        solver: a diffrax solver (default ``diffrax.Tsit5()``; ``diffrax.Dopri8()`` for very tight
            tolerances).
        rtol, atol: tolerances of diffrax's PID step-size controller (tight by default: the norm
            of psi is conserved to about ``rtol`` times the number of steps).
        t0: initial time (default ``ts[0]``); ``ts[0] >= t0``.
        max_steps, dt0, adjoint: passed to ``diffrax.diffeqsolve`` (default adjoint
            ``RecursiveCheckpointAdjoint``: reverse-mode gradients through the solve).
        validate: check the inputs (default; see below).

    Returns:
        (..., n_t, d) complex kets.

    Raises ``ValueError`` naming the argument when ``psi0`` is not a finite normalised ket
    (|<psi0|psi0> - 1| <= 1e-6 in float64), a matrix ``H`` is not square, finite and Hermitian (a
    callable ``H`` is checked at ``t0``, as ``H(t0)``), its dimension is not that of ``psi0``, or
    ``ts`` is not one-dimensional, non-empty, finite and strictly increasing or starts before
    ``t0``.  Concrete inputs are checked before compiling, traced ones by ``eqx.error_if``;
    ``validate=False`` or ``qb.set_validation(False)`` skips the checks.  The solve is
    ``eqx.filter_jit``-compiled (arrays traced; the solver, tolerances and a callable ``H`` static).

    For a closed system, ``ket2dm(sesolve(H, psi0, ts))`` equals
    ``evolve(liouvillian(H), ket2dm(psi0), ts)``.
    """
    psi0 = jnp.asarray(psi0)
    psi0 = psi0.astype(jnp.result_type(psi0.dtype, complex))
    real = jnp.real(jnp.zeros((), psi0.dtype)).dtype
    if validate and validation_enabled():
        psi0 = check_ket(psi0, "psi0")
        ts = check_times(ts, "ts", start=t0, dtype=real)
        d = psi0.shape[-1]
        if callable(H):
            H_start = H(jnp.asarray(ts[0] if t0 is None else t0, dtype=real))
            if jnp.shape(H_start) == (d, d):  # a wrong shape is reported by the solve below
                check_hamiltonian(H_start, "H(t0)")
        elif jnp.shape(H)[-2:] == (d, d):
            H = check_hamiltonian(H, "H")
    return _sesolve_compiled(H, psi0, ts, solver=solver, rtol=rtol, atol=atol, t0=t0, max_steps=max_steps,
                             dt0=dt0, adjoint=adjoint)


@eqx.filter_jit
def _sesolve_compiled(H, psi0, ts, *, solver, rtol, atol, t0, max_steps, dt0, adjoint):
    if psi0.ndim < 1:
        raise ValueError(f"psi0 must be a ket of shape (..., d); got shape {psi0.shape}")
    d = psi0.shape[-1]
    ts = jnp.asarray(ts, dtype=jnp.real(jnp.zeros((), psi0.dtype)).dtype)
    if ts.ndim != 1:
        raise ValueError(f"ts must be one-dimensional; got shape {ts.shape}")
    t0 = ts[0] if t0 is None else jnp.asarray(t0, dtype=ts.dtype)
    if callable(H):
        shape = jax.eval_shape(H, t0).shape
        if shape != (d, d):
            raise ValueError(f"H(t) must return a ({d}, {d}) Hamiltonian for psi0; got {shape}")
        G = lambda t: -1j * H(t)  # noqa: E731
    else:
        H = check_square(jnp.asarray(H), "H")
        if H.shape[-1] != d:
            raise ValueError(f"H of shape {H.shape} does not act on kets of dimension {d} (psi0)")
        G = -1j * H.astype(psi0.dtype)
    solver = diffrax.Tsit5() if solver is None else solver
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    return _solve_batched(G, psi0, (ts, t0, solver, rtol, atol, max_steps, dt0, adjoint))
