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
import numpy as np

from ._interop import accepts_qobj
from ._validate import check_finite, check_generator, check_square, check_state, check_times, validation_enabled
from ._superop import unvec, vec


@accepts_qobj
def propagate(G, x0, ts, t0=0.0, *, validate: bool = True):
    """Exact solution x(t) = expm(G (t - t0)) x0 of dx/dt = G x for a constant generator.

    ``G`` (..., n, n) and ``x0`` (..., n) broadcast over their batch dimensions; ``ts`` (n_t,) are
    the times (units of 1/G), strictly increasing and not before ``t0``.  Returns (..., n_t, n): one
    matrix exponential per time (scaling and squaring), exact to round-off and differentiable.  G and
    x0 must be finite (``ValueError`` naming them, ``eqx.error_if`` when traced; ``validate=False``
    skips the checks).
    """
    G = jnp.asarray(G)
    ts = jnp.asarray(ts, dtype=jnp.real(jnp.zeros((), G.dtype)).dtype)
    if validate and validation_enabled():
        G = check_finite(G, "G")
        x0 = check_finite(x0, "x0")
        ts = check_times(ts, "ts", start=t0, dtype=ts.dtype)
    props = jsl.expm(G[..., None, :, :] * (ts - t0)[:, None, None])  # (..., n_t, n, n)
    return jnp.einsum("...tij,...j->...ti", props, jnp.asarray(x0, dtype=jnp.result_type(G.dtype, x0)))


def _real_block(L):
    Lr, Li = jnp.real(L), jnp.imag(L)
    top = jnp.concatenate([Lr, -Li], axis=-1)
    bottom = jnp.concatenate([Li, Lr], axis=-1)
    return jnp.concatenate([top, bottom], axis=-2)


def _solve(field, y0, ts, t0, solver, rtol, atol, max_steps, dt0, adjoint, saveat, norm=None):
    """diffrax.diffeqsolve of dy/dt = field(t, y, args) from t0 to ts[-1] (PID step-size control).

    A failed solve (``max_steps`` reached, say) raises at run time (diffrax's ``throw``, a host
    callback) unless ``qb.set_validation(False)`` is active when the solve is traced: then the program
    carries no callback and the save times the solve did not reach hold inf (diffrax's fill value)."""
    controller = diffrax.PIDController(rtol=rtol, atol=atol) if norm is None else diffrax.PIDController(
        rtol=rtol, atol=atol, norm=norm)
    return diffrax.diffeqsolve(diffrax.ODETerm(field), solver, t0=t0, t1=ts[-1], dt0=dt0, y0=y0, saveat=saveat,
                               stepsize_controller=controller, max_steps=max_steps, adjoint=adjoint,
                               throw=validation_enabled())


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

    sol = _solve(field, y0, ts, t0, solver, rtol, atol, max_steps, dt0, adjoint, diffrax.SaveAt(ts=ts))
    ys = sol.ys
    return (ys[:, :n] + 1j * ys[:, n:]).astype(cdtype)


@accepts_qobj
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
    validate: bool = True,
):
    """Evolve ``rho0`` under the Lindblad generator ``L`` and return rho at the times ``ts``.

    Args:
        L: superoperator (..., d^2, d^2) (row-major vec, see :mod:`qbjax._superop`; a QuTiP
            ``Qobj`` superoperator is converted by :func:`qbjax.from_qutip`, but a raw array of one,
            ``.full()``, is in QuTiP's column-stacking convention and, undetectably, returns the
            transposes of the states evolved from rho0^T), or a callable ``t -> L(t)`` returning a
            (d^2, d^2) array (time-dependent generators).
        rho0: initial density matrix (..., d, d).  Batch dimensions of ``rho0`` and of a matrix ``L``
            broadcast; each batch element is integrated independently (``vmap``).
        ts: increasing save times, shape (n_t,), units of 1/energy.
        solver: a diffrax solver (default ``diffrax.Tsit5()``), or ``"expm"`` for a time-independent
            ``L`` (exact propagation by the matrix exponential at each saved time).
        rtol, atol: tolerances of diffrax's PID step-size controller.
        t0: initial time (default ``ts[0]``); ``ts[0] >= t0``.
        max_steps, dt0, adjoint: passed to ``diffrax.diffeqsolve``.
        validate: check the inputs (default; see below).

    Returns:
        (..., n_t, d, d) complex density matrices.

    Raises ``ValueError`` naming the argument when ``rho0`` is not a density matrix (finite, Hermitian,
    unit trace, positive to 1e-6), ``ts`` is empty, not finite or not strictly increasing or starts
    before ``t0``, or a matrix ``L`` is not finite or not trace preserving (a callable ``L`` is
    checked at ``t0``).  Concrete inputs are checked before compiling, traced ones by
    ``eqx.error_if``; ``validate=False`` or ``qb.set_validation(False)`` skips the checks.

    The solve is ``eqx.filter_jit``-compiled: arrays are traced, everything else (the solver, the
    tolerances, a callable ``L``) is static, so repeated calls with the same structure reuse the
    compiled solve (and it carries no host callback when the inputs are concrete).
    """
    if validate and validation_enabled():
        rho0 = check_state(rho0, "rho0")
        ts = check_times(ts, "ts", start=t0, dtype=jnp.real(jnp.zeros((), jnp.result_type(rho0.dtype, complex))).dtype)
        n = rho0.shape[-1] ** 2
        if callable(L):
            L_start = L(jnp.asarray(ts[0] if t0 is None else t0, dtype=ts.dtype))
            if jnp.shape(L_start) == (n, n):  # a wrong shape is reported by the solve below
                check_generator(L_start, "L(t0)")
        elif jnp.shape(L)[-2:] == (n, n):
            L = check_generator(L, "L")
    return _evolve_compiled(L, rho0, ts, solver=solver, rtol=rtol, atol=atol, t0=t0, max_steps=max_steps,
                            dt0=dt0, adjoint=adjoint)


@eqx.filter_jit
def _evolve_compiled(L, rho0, ts, *, solver, rtol, atol, t0, max_steps, dt0, adjoint):
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
        return unvec(propagate(L, x0, ts, t0), d)

    solver = diffrax.Tsit5() if solver is None else solver
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    args = (ts, t0, solver, rtol, atol, max_steps, dt0, adjoint)

    return unvec(_solve_batched(L, x0, args), d)


def _solve_batched(G, x0, args):
    """dx/dt = G x for every batch member, (..., n_t, n): ``G`` (..., n, n), broadcast against
    ``x0`` (..., n), or a callable ``t -> G(t)`` (n, n) shared by the members of ``x0``; ``args``
    as for :func:`_evolve_one`.  Each member is its own solve (``vmap``), with its own steps."""
    if callable(G):
        batch = x0.shape[:-1]
        flat = x0.reshape((-1, x0.shape[-1]))
        out = jax.vmap(lambda x: _evolve_one(G, x, *args))(flat)
        return out.reshape(batch + out.shape[-2:])
    batch = jnp.broadcast_shapes(G.shape[:-2], x0.shape[:-1])
    Gb = jnp.broadcast_to(G, batch + G.shape[-2:]).reshape((-1,) + G.shape[-2:])
    xb = jnp.broadcast_to(x0, batch + x0.shape[-1:]).reshape((-1, x0.shape[-1]))
    out = jax.vmap(lambda Gi, xi: _evolve_one(Gi, xi, *args))(Gb, xb)
    return out.reshape(batch + out.shape[-2:])


def _batch_max_rms(batch_ndim: int, batch_last: bool = False):
    """Error norm for a batched state: RMS over each member's components, max over the members.

    Summing the error over a whole batch (diffrax's default RMS norm) would let a few hard members
    hide behind many easy ones; taking the max of the per-member RMS norms gives every member at
    least the accuracy it would get from its own solve with the same rtol and atol.
    """

    def norm(y):
        leaves = jax.tree_util.tree_leaves(y)
        if batch_last:
            sq = sum(jnp.sum(jnp.abs(x) ** 2, axis=tuple(range(x.ndim - batch_ndim))) for x in leaves)
            size = sum(int(np.prod(x.shape[: x.ndim - batch_ndim])) for x in leaves)
        else:
            sq = sum(jnp.sum(jnp.abs(x) ** 2, axis=tuple(range(batch_ndim, x.ndim))) for x in leaves)
            size = sum(int(np.prod(x.shape[batch_ndim:])) for x in leaves)
        return jnp.sqrt(jnp.max(sq) / size)

    return norm


def evolve_ode(
    field: Callable,
    y0,
    ts,
    *,
    batch_ndim: int = 0,
    batch_last: bool = False,
    save_fn: Callable | None = None,
    t0=None,
    solver=None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 100_000,
    dt0=None,
    adjoint=None,
    validate: bool = True,
):
    """Integrate a real ODE dy/dt = field(t, y) (operator form) and return y at the times ``ts``.

    The companion of :func:`evolve` for generators applied in operator form (e.g. a Lindblad
    right-hand side acting on rho directly instead of a (d^2, d^2) matrix on vec(rho)), and for whole
    parameter grids integrated as ONE system: ``y0`` has ``batch_ndim`` leading batch axes, ``field``
    maps the full batched array, and the step-size controller uses the max over the batch of each
    member's RMS error (see ``_batch_max_rms``), so every member meets ``rtol``/``atol``.

    Args:
        field: ``(t, y) -> dy/dt``, ``y`` a real array of the shape of ``y0``; must be a pure JAX
            function (it is traced once).
        y0: real initial state, shape ``batch + state``.
        ts: strictly increasing save times (n_t,), not before ``t0``; ts and y0 must be finite
            (``ValueError`` naming them, ``eqx.error_if`` when traced; ``validate=False`` skips this).
        batch_ndim: number of batch axes of ``y0`` (leading ones, or trailing ones if ``batch_last``).
        batch_last: the batch axes are the LAST ``batch_ndim`` axes of ``y0`` (a layout that lets
            elementwise right-hand sides vectorise over the batch when the state axes are small).
        save_fn: optional ``(t, y) -> pytree`` applied at every save time; only its output is stored
            (e.g. a few observables of a large batched state), in place of ``y``.
        solver, rtol, atol, t0, max_steps, dt0, adjoint: as in :func:`evolve` (default Tsit5, PID
            controller, ``RecursiveCheckpointAdjoint``).

    Returns:
        ``batch + (n_t,) + state`` (the time axis right after the batch axes); with ``batch_last``,
        ``(n_t,) + y0.shape``.  With ``save_fn``: its output with a leading time axis, as returned by
        diffrax (no axis moved).

    Not jit-compiled itself (call it inside ``jax.jit``/``eqx.filter_jit``): ``field`` is usually a
    closure over traced parameters.
    """
    y0 = jnp.asarray(y0)
    if jnp.iscomplexobj(y0):
        raise ValueError("evolve_ode integrates real states; split complex ones into real and imaginary parts")
    if validate and validation_enabled():
        ts = check_times(ts, "ts", start=t0, dtype=y0.dtype)
        y0 = check_finite(y0, "y0")
    else:
        ts = jnp.asarray(ts, dtype=y0.dtype)
        if ts.ndim != 1:
            raise ValueError(f"ts must be one-dimensional; got shape {ts.shape}")
    t0 = ts[0] if t0 is None else jnp.asarray(t0, dtype=ts.dtype)
    solver = diffrax.Tsit5() if solver is None else solver
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    saveat = diffrax.SaveAt(ts=ts) if save_fn is None else diffrax.SaveAt(ts=ts, fn=lambda t, y, args: save_fn(t, y))
    sol = _solve(lambda t, y, args: field(t, y), y0, ts, t0, solver, rtol, atol, max_steps, dt0, adjoint, saveat,
                 norm=_batch_max_rms(batch_ndim, batch_last))
    if save_fn is not None or batch_last:
        return sol.ys
    return jnp.moveaxis(sol.ys, 0, batch_ndim)
