"""Charging-protocol optimisation of any battery: :func:`optimize_protocol`.

The problem: find controls u(t) on [0, t1] (a dict name -> control of :mod:`qbjax.control`) that
maximise an objective F of :mod:`qbjax.control.dynamics` (ergotropy, energy, capacity, power,
ergotropic power or stored ergotropy at t1) of the battery ``model_fn(u(t))``, less a penalty:

    minimise   loss(z) = -F(z) + w_fluence sum_c int u_c^2 dt + w_roughness sum_c roughness(u_c)

over the controls' parameters z (bounds by the sigmoid box, so every iterate is feasible).  The
gradient is exact: reverse mode through ``diffrax.diffeqsolve`` (``RecursiveCheckpointAdjoint``).
Multistart: ``starts`` initialisations (the controls as given, then seeded random ones) advance
together under one ``jax.vmap`` of one compiled loop (``eqx.filter_jit``; ``lax.scan`` over the
steps), each start keeping the best point it visited (lowest loss; a step whose loss or gradient is
not finite leaves the start where it is).

An optimum on a bound (bang-bang) sits at z -> +-inf, where the sigmoid's slope vanishes: Adam (the
default) approaches it only slowly, while a sign-based method such as ``optax.rprop`` grows its steps
while the gradient keeps its sign and reaches the edge in tens of steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._validate import as_int, set_validation
from ..optimize.multistart import advance
from .dynamics import ChargingProblem, make_problem, objective_value, protocol_states

__all__ = ["ProtocolResult", "optimize_protocol", "penalty_value"]

_DEFAULT = []  # optax.adam(0.05), created once so that repeated calls reuse the compiled loop
PENALTIES = ("fluence", "roughness")


def _default_optimizer():
    if not _DEFAULT:
        _DEFAULT.append(optax.adam(0.05))
    return _DEFAULT[0]


@dataclasses.dataclass(frozen=True)
class ProtocolResult:
    """The outcome of :func:`optimize_protocol`.

    ``controls``: dict name -> control with the best parameters found; ``objective``: F there (units
    of H_B, or of H_B per time for the powers); ``loss``: -F + penalty there; ``values`` (starts,):
    each start's F at its best point; ``history`` (n_steps, starts): F at the iterate of every step;
    ``best_start``; ``n_steps``; ``wall_s`` (seconds, compilation included); ``ts`` (n_save,),
    ``energy`` and ``ergotropy`` (n_save,): the charging curves of the best controls on [0, t1];
    ``problem``: the checked :class:`~qbjax.control.dynamics.ChargingProblem` (for re-evaluation).
    """

    controls: dict
    objective: float
    loss: float
    values: np.ndarray
    history: np.ndarray
    best_start: int
    n_steps: int
    wall_s: float
    ts: np.ndarray
    energy: np.ndarray
    ergotropy: np.ndarray
    problem: ChargingProblem


def _check_penalty(penalty):
    """None, a callable controls -> scalar, or a tuple of (name, weight) pairs (sorted)."""
    if penalty is None or callable(penalty):
        return penalty
    if not isinstance(penalty, Mapping):
        raise ValueError(f"penalty must be None, a dict {{'fluence': w, 'roughness': w}} or a function of the "
                         f"controls; got {penalty!r}")
    unknown = sorted(set(penalty) - set(PENALTIES))
    if unknown:
        raise ValueError(f"penalty has unknown terms {unknown}; known: {', '.join(PENALTIES)}")
    out = []
    for k, w in penalty.items():
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise ValueError(f"penalty[{k!r}] must be a number >= 0; got {w!r}") from None
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"penalty[{k!r}] must be a finite number >= 0; got {w!r}")
        out.append((k, w))
    return tuple(sorted(out))


def penalty_value(penalty, controls):
    """sum over the controls of w_fluence * fluence() + w_roughness * roughness() (or the user's
    ``penalty(controls)``); 0 for ``None``."""
    if penalty is None:
        return 0.0
    if callable(penalty):
        return penalty(controls)
    total = 0.0
    for k, w in penalty:
        total = total + w * sum(getattr(c, k)() for c in controls.values())
    return total


@eqx.filter_jit
def _optimise(problem, penalty, optimizer, stacked, steps: int):
    """Every start (leading axis of ``stacked``) through ``steps`` optimiser steps, vmapped (the shared
    multistart loop :func:`qbjax.optimize.multistart.advance`)."""

    def loss_fn(c):
        value = objective_value(problem, c)
        return -value + penalty_value(penalty, c), value

    def step_fn(c):
        loss, value = loss_fn(c)
        return loss, (loss, value, value)

    starts = jax.tree_util.tree_leaves(stacked)[0].shape[0]
    inf, nan = jnp.full(starts, jnp.inf), jnp.full(starts, jnp.nan)
    carry = (stacked, jax.vmap(optimizer.init)(stacked), jnp.zeros(starts, jnp.int32), inf, (stacked, nan))
    (c, _, _, best_loss, (best_c, best_value)), (history, _) = advance(step_fn, optimizer, carry, steps,
                                                                        best_needs_finite_step=True)
    loss, value = jax.vmap(loss_fn)(c)  # the iterate after the last update
    better = jnp.isfinite(loss) & (loss < best_loss)
    where = lambda a, b: jax.tree_util.tree_map(  # noqa: E731
        lambda x, y: jnp.where(better.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), a, b)
    return where(c, best_c), jnp.where(better, value, best_value), jnp.where(better, loss, best_loss), history


def _stack(controls, starts: int, seed: int):
    """The starts stacked on a leading axis: the controls as given, then seeded random ones."""
    rng = np.random.default_rng(seed)
    names = sorted(controls)
    zs = {k: [np.asarray(controls[k].z)] for k in names}
    for _ in range(starts - 1):
        for k in names:
            zs[k].append(controls[k].sample(rng))
    return {k: controls[k].with_params(np.stack(zs[k])) for k in names}


def optimize_protocol(model_fn: Callable, controls: Mapping, objective: str, t1, *, optimizer=None, steps=200,
                      starts=1, seed=0, penalty=None, n_save=101, t_store=None, off=0.0, solver=None, rtol=1e-8,
                      atol=1e-10, max_steps=16_384) -> ProtocolResult:
    """Maximise ``objective`` over the parameters of ``controls`` driving the battery ``model_fn``.

    Args:
        model_fn: ``values -> battery model``; ``values`` a dict name -> control value at time t
            (traced scalars).  The generator is ``model_fn(u(t)).liouvillian(t)``, the initial state
            ``model_fn(u(0)).initial_state()`` (one unbatched battery).
        controls: dict name -> control on [0, t1] (:class:`~qbjax.control.PiecewiseConstant`,
            :class:`~qbjax.control.PiecewiseLinear`, :class:`~qbjax.control.Fourier`); their current
            parameters are the first start.
        objective: one of ``"ergotropy"``, ``"energy"``, ``"capacity"``, ``"power"``,
            ``"ergotropic-power"``, ``"stored-ergotropy"`` (see :mod:`qbjax.control.dynamics`).
        t1: charging time (1/energy, hbar = 1).
        optimizer: an Optax gradient transformation (default ``optax.adam(0.05)``), minimising the loss.
        steps: optimiser steps (>= 1); starts: number of starts (>= 1, batched by ``jax.vmap``);
            seed: seeds the random starts (NumPy).
        penalty: ``None``, ``{"fluence": w1, "roughness": w2}`` (weights >= 0, summed over the
            controls) or a function ``controls -> scalar`` added to the loss.
        n_save: number of times on [0, t1] of the returned charging curves (>= 2).
        t_store, off: the storage time and the controls' off values of ``"stored-ergotropy"``.
        solver, rtol, atol, max_steps: the diffrax solve (default Tsit5, 1e-8, 1e-10).

    Returns:
        :class:`ProtocolResult`.

    Raises ``ValueError`` naming the argument: ``objective`` unknown, ``t1`` not finite and > 0,
    ``steps``/``starts``/``n_save``/``seed`` not integers in range, ``penalty``, ``controls``, ``t_store``,
    ``off``, tolerances, or a model that ``model_fn`` builds at u(0), at the bounds or at the off
    values failing its own checks (everything is checked before compiling; the compiled loss runs
    with qbjax's traced checks off).  ``RuntimeError`` when no start reached a finite objective.
    """
    t_start = time.perf_counter()
    steps = as_int(steps, "steps", minimum=1)
    starts = as_int(starts, "starts", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    n_save = as_int(n_save, "n_save", minimum=2)
    penalty = _check_penalty(penalty)
    problem = make_problem(model_fn, controls, objective, t1, t_store=t_store, off=off, solver=solver, rtol=rtol,
                           atol=atol, max_steps=max_steps)
    optimizer = _default_optimizer() if optimizer is None else optimizer
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ValueError(f"optimizer must be an Optax gradient transformation; got {optimizer!r}")
    stacked = _stack(dict(controls), starts, seed)
    with set_validation(False):
        best_c, best_value, best_loss, history = _optimise(problem, penalty, optimizer, stacked, steps)
    best_loss = np.asarray(best_loss)
    if not np.any(np.isfinite(best_loss)):
        raise RuntimeError("no start reached a finite objective (a solve failed: raise max_steps or check model_fn)")
    i = int(np.nanargmin(np.where(np.isfinite(best_loss), best_loss, np.nan)))
    best = {k: c.with_params(np.asarray(c.z[i])) for k, c in best_c.items()}
    ts = np.linspace(0.0, problem.t1, n_save)
    _, energy, ergotropy = protocol_states(problem, best, ts)
    return ProtocolResult(
        controls=best,
        objective=float(np.asarray(best_value)[i]),
        loss=float(best_loss[i]),
        values=np.asarray(best_value),
        history=np.asarray(history).T,
        best_start=i,
        n_steps=steps,
        wall_s=time.perf_counter() - t_start,
        ts=ts,
        energy=np.asarray(energy),
        ergotropy=np.asarray(ergotropy),
        problem=problem,
    )
