"""A battery driven by controls: the charging problem, its evolution and its objectives.

The user's ``model_fn(values)`` maps a dict name -> control value (traced scalars) to a battery
model (the battery protocol of :mod:`qbjax.models`); the generator at time t is

    d vec(rho)/dt = L(t) vec(rho),      L(t) = model_fn({name: u_name(t)}).liouvillian(t),

built inside the ODE right-hand side (a model with ``lindblad_rhs(t, rho)``, as every model of
:mod:`qbjax.models` built on the Lindblad protocol has, applies L(t) in operator form instead: O(K d^3)
a step rather than building the (d^2, d^2) matrix), and rho(0) = model_fn(u(0)).initial_state().  The solve is
``diffrax.diffeqsolve`` (Tsit5, PID step-size control, rtol 1e-8 / atol 1e-10 by default) on the real
form (Re vec(rho), Im vec(rho)); the solver steps exactly onto every control breakpoint (``jump_ts``
where a control jumps, ``step_ts`` where its slope does, through ``diffrax.ClipStepSizeController``),
and reverse-mode gradients go through ``diffrax.RecursiveCheckpointAdjoint``.

Objectives (to be maximised; units of the battery Hamiltonian H_B, hbar = 1, times in 1/energy), each
functional evaluated with the model in force at that time (``model_fn(u(t))``, which fixes H_B):

=====================  =====================================================================
``energy``             E(t1) = Tr(rho_B(t1) H_B)
``ergotropy``          ergotropy of rho_B(t1)
``capacity``           capacity E_active - E_passive of rho_B(t1)
``power``              mean charging power [E(t1) - E(0)] / t1
``ergotropic-power``   ergotropy(t1) / t1
``stored-ergotropy``   ergotropy at t1 + t_store, after a storage time t_store with every control held
                       at its "off" value (default 0)
=====================  =====================================================================

A failed solve (``max_steps`` reached) gives NaN instead of raising (the compiled objective carries
no host callback; qbjax's traced checks are switched off while it is traced, the inputs having been
checked up front by :func:`make_problem`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._superop import unvec, vec
from .._validate import check_generator, check_state, is_concrete, set_validation
from .base import AbstractControl, check_duration

__all__ = ["OBJECTIVES", "ChargingProblem", "make_problem", "protocol_states", "protocol_value"]

OBJECTIVES = ("ergotropy", "energy", "capacity", "power", "ergotropic-power", "stored-ergotropy")


@dataclasses.dataclass(frozen=True)
class ChargingProblem:
    """Everything static about a charging problem (hashable: one compilation per problem).

    ``off`` is a tuple of (name, value) pairs; ``jump_ts``/``step_ts`` the controls' breakpoints.
    Build it with :func:`make_problem`, which checks the inputs.
    """

    model_fn: Callable
    objective: str
    t1: float
    names: tuple[str, ...]
    t_store: float = 0.0
    off: tuple = ()
    jump_ts: tuple = ()
    step_ts: tuple = ()
    solver: Any = None
    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 16_384

    def values(self, controls, t):
        """{name: u_name(t)} of a dict of controls."""
        return {k: controls[k](t) for k in self.names}

    def off_values(self):
        """{name: off value} (the storage phase)."""
        return {k: jnp.asarray(v, dtype=jnp.result_type(float)) for k, v in self.off}


def _check_controls(controls, t1: float):
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError(f"controls must be a non-empty dict name -> control; got {controls!r}")
    for name, c in controls.items():
        if not isinstance(name, str):
            raise ValueError(f"controls must be keyed by names (str); got key {name!r}")
        if not isinstance(c, AbstractControl):
            raise ValueError(f"controls[{name!r}] must be a control (PiecewiseConstant, PiecewiseLinear, Fourier); "
                             f"got {type(c).__name__}")
        if abs(c.t1 - t1) > 1e-12 * t1:
            raise ValueError(f"controls[{name!r}] is defined on [0, {c.t1}] but t1 = {t1}; build it with the same t1")


def _breakpoints(controls):
    jumps = sorted({t for c in controls.values() for t in c.breakpoints()[0]})
    steps = sorted({t for c in controls.values() for t in c.breakpoints()[1]} - set(jumps))
    return tuple(jumps), tuple(steps)


def _off(off, controls) -> tuple:
    if isinstance(off, Mapping):
        unknown = sorted(set(off) - set(controls))
        if unknown:
            raise ValueError(f"off names controls that do not exist: {unknown}; controls are {sorted(controls)}")
        values = {k: off.get(k, 0.0) for k in controls}
    else:
        values = {k: off for k in controls}
    out = []
    for k, v in values.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"off must be a number or a dict name -> number; got {off!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"off[{k!r}] must be finite; got {v!r}")
        out.append((k, v))
    return tuple(sorted(out))


def _check_model(problem: ChargingProblem, controls):
    """Build the model at u(0), at the bounds and at the off values, with validation on (each
    ``ValueError`` of the model is re-raised naming the control values), and check its initial state
    and generator once.  Skipped for traced controls (inside ``jax.grad``, say): nothing to inspect."""
    if not is_concrete(controls):
        return
    start = {k: float(controls[k](0.0)) for k in problem.names}
    trials = [start]
    for side in (0, 1):
        trials.append({k: (c.bounds[side] if c.bounds is not None else start[k]) for k, c in controls.items()})
    if problem.objective == "stored-ergotropy":
        trials.append(dict(problem.off))
    with set_validation(True):
        for values in trials:
            try:
                model = problem.model_fn(values)
            except ValueError as err:
                raise ValueError(f"model_fn({values}) is not a valid battery: {err}") from err
            if not hasattr(model, "liouvillian") or not hasattr(model, "initial_state"):
                raise ValueError(f"model_fn must return a battery model with liouvillian(t) and initial_state(); "
                                 f"got {type(model).__name__}")
        model = problem.model_fn(start)
        rho0 = check_state(model.initial_state(), "model_fn(u(0)).initial_state()")
        if rho0.ndim != 2:
            raise ValueError(f"model_fn must return one (unbatched) battery; its initial state has shape {rho0.shape}")
        d = rho0.shape[-1]
        L = jnp.asarray(model.liouvillian(0.0))
        if L.shape != (d * d, d * d):
            raise ValueError(f"model_fn(u(0)).liouvillian(0.0) must have shape {(d * d, d * d)}; got {L.shape}")
        check_generator(L, "model_fn(u(0)).liouvillian(0.0)")


def make_problem(model_fn, controls, objective, t1, *, t_store=None, off=0.0, solver=None, rtol=1e-8,
                 atol=1e-10, max_steps=16_384) -> ChargingProblem:
    """Check the inputs of a charging problem and return its :class:`ChargingProblem`.

    Raises ``ValueError`` naming ``objective`` (not one of :data:`OBJECTIVES`), ``t1`` (not finite and
    > 0), ``controls`` (not a non-empty dict of controls on [0, t1]), ``t_store`` (missing or not > 0
    for "stored-ergotropy", given for another objective), ``off``, ``rtol``/``atol`` (not > 0),
    ``max_steps``, or ``model_fn`` (the model it returns at u(0), at the bounds or at the off values
    is not a valid battery).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    t1 = check_duration(t1, "t1")
    _check_controls(controls, t1)
    if objective == "stored-ergotropy":
        if t_store is None:
            raise ValueError("t_store (the storage time) is required for objective 'stored-ergotropy'")
        t_store = check_duration(t_store, "t_store")
    elif t_store is not None:
        raise ValueError(f"t_store is only used by objective 'stored-ergotropy'; got objective {objective!r}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
            raise ValueError(f"{name} must be a finite number > 0; got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1; got {max_steps!r}")
    if not callable(model_fn):
        raise ValueError(f"model_fn must be a function values -> battery model; got {model_fn!r}")
    jumps, steps = _breakpoints(controls)
    problem = ChargingProblem(model_fn, objective, t1, tuple(sorted(controls)), float(t_store or 0.0),
                              _off(off, controls), jumps, steps, solver, float(rtol), float(atol), int(max_steps))
    _check_model(problem, controls)
    return problem


# ---------------------------------------------------------------------------------------------
# evolution and objectives (traced with validation off)
# ---------------------------------------------------------------------------------------------


def _solve(problem: ChargingProblem, values_fn, rho0, t0, t1, saveat, jump_ts=(), step_ts=()):
    """(x at the save times, ok) for d vec(rho)/dt = L(t) vec(rho) from t0 to t1 (diffrax)."""
    x0 = vec(rho0)
    n = x0.shape[-1]

    d = rho0.shape[-1]

    def field(t, y, args):
        x = y[:n] + 1j * y[n:]
        model = problem.model_fn(values_fn(t))
        if hasattr(model, "lindblad_rhs"):  # operator form: O(K d^3), no (d^2, d^2) generator per step
            dx = vec(model.lindblad_rhs(t, unvec(x, d)))
        else:
            dx = model.liouvillian(t) @ x
        return jnp.concatenate([jnp.real(dx), jnp.imag(dx)])

    controller = diffrax.PIDController(rtol=problem.rtol, atol=problem.atol)
    if jump_ts or step_ts:
        controller = diffrax.ClipStepSizeController(controller, jump_ts=jnp.asarray(jump_ts) if jump_ts else None,
                                                    step_ts=jnp.asarray(step_ts) if step_ts else None)
    solver = diffrax.Tsit5() if problem.solver is None else problem.solver
    sol = diffrax.diffeqsolve(diffrax.ODETerm(field), solver, t0=t0, t1=t1, dt0=None,
                              y0=jnp.concatenate([jnp.real(x0), jnp.imag(x0)]), saveat=saveat,
                              stepsize_controller=controller, max_steps=problem.max_steps,
                              adjoint=diffrax.RecursiveCheckpointAdjoint(), throw=False)
    ys = sol.ys
    return ys[..., :n] + 1j * ys[..., n:], sol.result == diffrax.RESULTS.successful


def _charge(problem: ChargingProblem, controls, saveat):
    """(rho0, x at the save times of the charging phase [0, t1], ok)."""
    rho0 = problem.model_fn(problem.values(controls, 0.0)).initial_state().astype(jnp.result_type(complex))
    x, ok = _solve(problem, lambda t: problem.values(controls, t), rho0, 0.0, problem.t1, saveat,
                   problem.jump_ts, problem.step_ts)
    return rho0, x, ok


def objective_value(problem: ChargingProblem, controls):
    """The objective of :data:`OBJECTIVES` for a dict of controls (traceable; NaN if a solve failed)."""
    rho0, x, ok = _charge(problem, controls, diffrax.SaveAt(t1=True))
    d = rho0.shape[-1]
    rho1 = unvec(x[0], d)
    m1 = problem.model_fn(problem.values(controls, problem.t1))
    name = problem.objective
    if name == "energy":
        value = m1.energy(rho1)
    elif name == "ergotropy":
        value = m1.ergotropy(rho1)
    elif name == "capacity":
        value = m1.capacity(rho1)
    elif name == "power":
        m0 = problem.model_fn(problem.values(controls, 0.0))
        value = (m1.energy(rho1) - m0.energy(rho0)) / problem.t1
    elif name == "ergotropic-power":
        value = m1.ergotropy(rho1) / problem.t1
    else:  # stored-ergotropy: hold the controls off for t_store
        off = problem.off_values()
        x2, ok2 = _solve(problem, lambda t: off, rho1, problem.t1, problem.t1 + problem.t_store,
                         diffrax.SaveAt(t1=True))
        ok = ok & ok2
        value = problem.model_fn(off).ergotropy(unvec(x2[0], d))
    return jnp.where(ok, jnp.real(value), jnp.nan)


@eqx.filter_jit
def _value(problem, controls):
    return objective_value(problem, controls)


@eqx.filter_jit
def _states(problem, controls, ts):
    rho0, x, ok = _charge(problem, controls, diffrax.SaveAt(ts=ts))
    rho = unvec(x, rho0.shape[-1])

    def curves(t, r):
        m = problem.model_fn(problem.values(controls, t))
        return m.energy(r), m.ergotropy(r)

    energy, ergotropy = jax.vmap(curves)(ts, rho)
    nan = jnp.where(ok, 0.0, jnp.nan)
    return rho + nan, jnp.real(energy) + nan, jnp.real(ergotropy) + nan


def protocol_value(model_fn, controls, objective, t1, **options):
    """The objective (a scalar) of ``controls`` driving ``model_fn`` over [0, t1].

    Differentiable with respect to the controls (``jax.grad(lambda c: protocol_value(f, c, ...))``
    works: the problem is checked and compiled with validation off).  ``options``: ``t_store``,
    ``off``, ``solver``, ``rtol``, ``atol``, ``max_steps`` of :func:`make_problem`, which names the bad
    argument in a ``ValueError``.
    """
    problem = make_problem(model_fn, controls, objective, t1, **options)
    with set_validation(False):
        return _value(problem, controls)


def protocol_states(problem: ChargingProblem, controls, ts):
    """(rho (n_t, d, d), energy (n_t,), ergotropy (n_t,)) along the charging at the times ``ts`` in
    [0, t1] (increasing), each functional with the model in force at its time."""
    ts = jnp.asarray(ts, dtype=jnp.result_type(float))
    if ts.ndim != 1 or ts.shape[0] == 0 or float(ts[0]) < 0 or float(ts[-1]) > problem.t1 * (1 + 1e-12) or \
            not bool(jnp.all(jnp.diff(ts) > 0)):
        raise ValueError(f"ts must be 1-D, strictly increasing and within [0, t1 = {problem.t1}]")
    with set_validation(False):
        return _states(problem, controls, ts)
