"""Time evolution d vec(rho)/dt = L(t) vec(rho) with diffrax.

Diffrax treats complex states as experimental, so qbjax integrates the real representation
y = (Re vec(rho), Im vec(rho)), for which the generator is the real block matrix
[[Re L, -Im L], [Im L, Re L]].  This is exact (the same linear ODE), and gradients flow through
diffrax's adjoint (``RecursiveCheckpointAdjoint`` by default).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from ._validate import check_square
from .superop import unvec, vec


def _real_block(L):
    Lr, Li = jnp.real(L), jnp.imag(L)
    top = jnp.concatenate([Lr, -Li], axis=-1)
    bottom = jnp.concatenate([Li, Lr], axis=-1)
    return jnp.concatenate([top, bottom], axis=-2)


def _evolve_one(L, x0, ts, t0, solver, rtol, atol, max_steps, dt0, adjoint):
    n = x0.shape[-1]
    cdtype = x0.dtype
    y0 = jnp.concatenate([jnp.real(x0), jnp.imag(x0)])
    if callable(L):

        def field(t, y, args):
            x = (y[:n] + 1j * y[n:]).astype(cdtype)
            dx = L(t) @ x
            return jnp.concatenate([jnp.real(dx), jnp.imag(dx)])

    else:
        M = _real_block(L)

        def field(t, y, args):
            return M @ y

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        solver,
        t0=t0,
        t1=ts[-1],
        dt0=dt0,
        y0=y0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=adjoint,
    )
    ys = sol.ys
    return (ys[:, :n] + 1j * ys[:, n:]).astype(cdtype)


@eqx.filter_jit
def evolve(
    L: jax.Array | Callable,
    rho0,
    ts,
    *,
    solver=None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    t0=None,
    max_steps: int = 100_000,
    dt0=None,
    adjoint=None,
):
    """Evolve ``rho0`` under the Lindblad generator ``L`` and return rho at the times ``ts``.

    Args:
        L: superoperator (..., d^2, d^2) (row-major vec, see :mod:`qbjax.superop`), or a callable
            ``t -> L(t)`` returning a (d^2, d^2) array (time-dependent generators).
        rho0: initial density matrix (..., d, d).  Batch dimensions of ``rho0`` and of a matrix ``L``
            broadcast; each batch element is integrated independently (``vmap``).
        ts: increasing save times, shape (n_t,), units of 1/energy.
        solver: a diffrax solver (default ``diffrax.Tsit5()``), or ``"expm"`` for a time-independent
            ``L`` (exact propagation by the matrix exponential at each saved time).
        rtol, atol: tolerances of diffrax's PID step-size controller.
        t0: initial time (default ``ts[0]``).
        max_steps, dt0, adjoint: passed to ``diffrax.diffeqsolve``.

    Returns:
        (..., n_t, d, d) complex density matrices.

    The function is ``eqx.filter_jit``-compiled: arrays are traced, everything else (the solver, the
    tolerances, a callable ``L``) is static, so repeated calls with the same structure reuse the
    compiled solve.
    """
    rho0 = check_square(jnp.asarray(rho0), "rho0")
    d = rho0.shape[-1]
    cdtype = jnp.result_type(rho0.dtype, complex)
    ts = jnp.asarray(ts, dtype=jnp.real(jnp.zeros((), cdtype)).dtype)
    if ts.ndim != 1:
        raise ValueError(f"ts must be one-dimensional; got shape {ts.shape}")
    t0 = ts[0] if t0 is None else jnp.asarray(t0, dtype=ts.dtype)
    x0 = vec(rho0.astype(cdtype))

    if callable(L):
        shape = jax.eval_shape(L, t0).shape
        if shape != (d * d, d * d):
            raise ValueError(f"L(t) must return a ({d * d}, {d * d}) superoperator for rho0; got {shape}")
    else:
        L = check_square(jnp.asarray(L), "L")
        if L.shape[-1] != d * d:
            raise ValueError(f"L of shape {L.shape} does not act on {d}x{d} density matrices (rho0)")

    if solver == "expm":
        if callable(L):
            raise ValueError("solver='expm' needs a time-independent L (an array), not a callable")
        dt = ts - t0
        props = jsl.expm(L[..., None, :, :] * dt[:, None, None])  # (..., n_t, n, n)
        xs = jnp.einsum("...tij,...j->...ti", props, x0)
        return unvec(xs, d)

    solver = diffrax.Tsit5() if solver is None else solver
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    args = (ts, t0, solver, rtol, atol, max_steps, dt0, adjoint)

    if callable(L):
        batch = x0.shape[:-1]
        flat = x0.reshape((-1, x0.shape[-1]))
        out = jax.vmap(lambda x: _evolve_one(L, x, *args))(flat)
        return unvec(out.reshape(batch + out.shape[-2:]), d)

    batch = jnp.broadcast_shapes(L.shape[:-2], x0.shape[:-1])
    Lb = jnp.broadcast_to(L, batch + L.shape[-2:]).reshape((-1,) + L.shape[-2:])
    xb = jnp.broadcast_to(x0, batch + x0.shape[-1:]).reshape((-1, x0.shape[-1]))
    out = jax.vmap(lambda Li, xi: _evolve_one(Li, xi, *args))(Lb, xb)
    return unvec(out.reshape(batch + out.shape[-2:]), d)
