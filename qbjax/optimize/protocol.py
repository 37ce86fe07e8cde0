"""Time-dependent charging protocols of the built-in batteries against the best static parameter.

The computation behind ``qbjax optimize charger`` and ``qbjax optimize tavis-cummings``: one control
u(t) on [0, t1] (a :mod:`qbjax.control` basis within bounds [lo, hi]) drives one model parameter,

* charger: the coupling J(t) of :class:`~qbjax.models.charger_battery.ChargerBattery` (the model has
  no drive term, so J is its only control), energies in the model's energy unit (hbar = 1);
* tavis-cummings: the cavity detuning Delta(t) of :class:`~qbjax.models.tavis_cummings.TavisCummingsBattery`
  (energies in units of w_b, times in 1/w_b),

and :func:`qbjax.control.optimize_protocol` maximises the objective.  The comparison is the best
static protocol: constant controls u = p on a uniform grid of p in [lo, hi], each evaluated with the
same objective, the same solver and the same control basis (one compiled, vmapped evaluation), so
that the gain optimised - static measures what the time dependence adds.

The model functions are frozen dataclasses (equal when their parameters are equal): repeated runs of
one configuration reuse the compiled programs.
"""

from __future__ import annotations

import dataclasses
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._validate import set_validation
from ..control.dynamics import objective_value, protocol_states
from ..control.fourier import Fourier
from ..control.piecewise import PiecewiseConstant, PiecewiseLinear
from ..control.protocol import optimize_protocol
from ..models.charger_battery import ChargerBattery
from ..models.tavis_cummings import TavisCummingsBattery
from .box import Box
from .defaults import PROTOCOL_BASES as BASES

__all__ = ["BASES", "GAIN_RTOL", "ChargerFn", "TavisCummingsFn", "make_control", "run_protocol", "verdict"]

#: |optimised - static| <= GAIN_RTOL * max(|static|, GAIN_FLOOR): the time dependence gains nothing
GAIN_RTOL, GAIN_FLOOR = 1e-6, 1e-6
_OPTIMIZERS = {}  # (name, lr) -> Optax transformation, created once so that reruns reuse the compiled loop


@dataclasses.dataclass(frozen=True)
class ChargerFn:
    """{"J": J} -> ChargerBattery(theta, phi, J, omega_b, gamma)."""

    theta: float
    phi: float
    omega_b: float
    gamma: float

    def __call__(self, values):
        return ChargerBattery(theta=self.theta, phi=self.phi, J=values["J"], omega_b=self.omega_b, gamma=self.gamma)


@dataclasses.dataclass(frozen=True)
class TavisCummingsFn:
    """{"detuning": Delta} -> TavisCummingsBattery(n_qubits, detuning=Delta, ...)."""

    n_qubits: int
    n_cavity: int
    environment: str
    g: float
    gamma0: float

    def __call__(self, values):
        return TavisCummingsBattery(self.n_qubits, detuning=values["detuning"], gamma0=self.gamma0, g=self.g,
                                    n_cavity=self.n_cavity, environment=self.environment)


def optimizer(name: str, lr: float):
    """``optax.rprop(lr)`` or ``optax.adam(lr)`` (one object per (name, lr))."""
    key = (name, float(lr))
    if key not in _OPTIMIZERS:
        _OPTIMIZERS[key] = {"rprop": optax.rprop, "adam": optax.adam}[name](float(lr))
    return _OPTIMIZERS[key]


def constant_params(basis: str, value: float, segments: int, bounds) -> np.ndarray:
    """The parameters z of the constant control u = ``value`` in a basis (edges map to large finite z)."""
    z0 = float(Box(bounds[0], bounds[1]).inverse(np.array(value)))
    if basis == "fourier":
        return np.concatenate([[z0], np.zeros(2 * segments)])
    return np.full(segments + (basis == "piecewise-linear"), z0)


def make_control(basis: str, value: float, segments: int, t1: float, bounds):
    """The constant control u = ``value`` within ``bounds``: ``segments`` pieces (piecewise bases) or
    harmonics (Fourier)."""
    if basis == "piecewise-constant":
        template = PiecewiseConstant((bounds[0] + bounds[1]) / 2, t1, n=segments, bounds=bounds)
    elif basis == "piecewise-linear":
        template = PiecewiseLinear((bounds[0] + bounds[1]) / 2, t1, n=segments, bounds=bounds)
    elif basis == "fourier":
        template = Fourier.constant((bounds[0] + bounds[1]) / 2, segments, t1, bounds=bounds)
    else:
        raise ValueError(f"--basis must be one of {', '.join(BASES)}; got {basis!r}")
    return template.with_params(constant_params(basis, value, segments, bounds))


def coefficients(control) -> np.ndarray:
    """What fixes u(t): the segment values (piecewise constant), the node values (piecewise linear),
    the coefficients (a_0, a_1..a_K, b_1..b_K) of the series in logit space (Fourier)."""
    if isinstance(control, Fourier):
        return np.asarray(control.z)
    return np.asarray(control.values())


@eqx.filter_jit
def _scan(problem, template, zs):
    name = problem.names[0]
    return jax.vmap(lambda z: objective_value(problem, {name: template.with_params(z)}))(zs)


def static_scan(problem, template, basis: str, segments: int, bounds, points: int):
    """(parameters (points,), objective values (points,)) of the constant controls on linspace(lo, hi)."""
    params = np.linspace(bounds[0], bounds[1], points)
    zs = jnp.asarray(np.stack([constant_params(basis, p, segments, bounds) for p in params]))
    with set_validation(False):
        values = np.asarray(_scan(problem, template, zs))
    return params, values


def verdict(optimised: float, static: float) -> tuple[str, float]:
    """("gain" | "none" | "below", tolerance): does the time dependence beat the best static protocol?"""
    tol = GAIN_RTOL * max(abs(static), GAIN_FLOOR)
    gain = optimised - static
    return ("gain" if gain > tol else "below" if gain < -tol else "none"), tol


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def run_protocol(model_fn, name: str, *, basis: str, segments: int, bounds, t1: float, objective: str,
                 t_store=None, off=0.0, starts=4, steps=100, seed=0, optimizer_name="rprop", lr=0.5,
                 static_points=41, from_static=False, n_save=201, say=print) -> tuple[dict, dict]:
    """Scan the static controls, optimise the time-dependent one, evaluate both curves.

    Returns (result, extra): ``result`` the JSON-ready dict of result.json, ``extra`` the objects the
    figure needs (``controls``, the best static ``static_control``).
    """
    t0 = time.perf_counter()
    template = make_control(basis, (bounds[0] + bounds[1]) / 2, segments, t1, bounds)
    say(f"[optimize] static scan: {static_points} constant values of {name} in [{bounds[0]:g}, {bounds[1]:g}] "
        f"(compiling)")
    from ..control.dynamics import make_problem

    options = {"t_store": t_store, "off": {name: off}}
    problem = make_problem(model_fn, {name: template}, objective, t1, **options)
    params, values = static_scan(problem, template, basis, segments, bounds, static_points)
    if not np.any(np.isfinite(values)):
        raise RuntimeError("every static evaluation failed (a solve reached max_steps)")
    i_best = int(np.nanargmax(values))
    static_wall = time.perf_counter() - t0
    say(f"[optimize] best static: {name} = {params[i_best]:.6g}, {objective} = {values[i_best]:.8g} "
        f"({static_wall:.1f} s)")
    first = make_control(basis, params[i_best] if from_static else (bounds[0] + bounds[1]) / 2, segments, t1, bounds)
    say(f"[optimize] {objective}: {basis} {name}(t), {segments} {'harmonics' if basis == 'fourier' else 'segments'}, "
        f"{starts} starts x {steps} {optimizer_name} steps (lr {lr:g}) (compiling)")
    res = optimize_protocol(model_fn, {name: first}, objective, t1, optimizer=optimizer(optimizer_name, lr),
                            steps=steps, starts=starts, seed=seed, n_save=n_save, **options)
    say(f"[optimize] optimised {objective} = {res.objective:.8g} (start {res.best_start}, {res.wall_s:.1f} s)")
    static_control = template.with_params(constant_params(basis, params[i_best], segments, bounds))
    _, s_energy, s_ergotropy = protocol_states(res.problem, {name: static_control}, res.ts)
    static_best = float(values[i_best])
    kind, tol = verdict(res.objective, static_best)
    gain = res.objective - static_best
    history = np.where(np.isfinite(res.history), res.history, -np.inf).max(axis=1)
    result = {
        "objective_value": res.objective,
        "controls": [coefficients(res.controls[name]).tolist()],
        "t1": t1,
        "segments": segments,
        "wall_s": res.wall_s,
        "n_steps": res.n_steps,
        "objective": objective,
        "control_names": [name],
        "basis": basis,
        "coefficients": {"piecewise-constant": "segment values", "piecewise-linear": "node values",
                         "fourier": "series coefficients a_0, a_1..a_K, b_1..b_K (logit space)"}[basis],
        "bounds": list(bounds),
        "t_store": t_store,
        "off": off,
        "starts": starts,
        "seed": seed,
        "optimizer": optimizer_name,
        "lr": lr,
        "from_static": from_static,
        "best_start": res.best_start,
        "values_per_start": [_finite(v) for v in res.values],
        "history_best_over_starts": [_finite(v) for v in history],
        "static": {"parameters": params.tolist(), "values": [_finite(v) for v in values],
                   "best_parameter": float(params[i_best]), "best_value": static_best, "wall_s": static_wall},
        "gain": gain,
        "relative_gain": gain / abs(static_best) if static_best != 0 else None,
        "gain_tolerance": tol,
        "verdict": kind,
        "curves": {"ts": res.ts.tolist(), "energy": res.energy.tolist(), "ergotropy": res.ergotropy.tolist(),
                   "static_energy": np.asarray(s_energy).tolist(),
                   "static_ergotropy": np.asarray(s_ergotropy).tolist()},
        "model_parameters": dataclasses.asdict(model_fn),
        "total_wall_s": time.perf_counter() - t0,
    }
    return result, {"controls": res.controls, "static_control": static_control}
