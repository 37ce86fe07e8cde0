"""Differentiable inverse design of the four-level battery (paper 000).

No paper did this: instead of classifying the 8^7 Table-I grid, climb the exact gradient of a
figure of merit over the nine continuous parameters, from many seeded starts at once, and compare
with the best configuration of the grid.

Box (paper Table I, :data:`qbjax.models.four_level.TABLE_ONE_RANGES`; units hbar = k_B = 1, r = g = 1):

    T_c, T_h, T_l in [0.1, 7],  p_c, p_h in [0.1, 1],  tau in [0.01, 2],
    eps, d1, d2 in [0.01, 2],   eps_b = eps + d1,  eps_a = eps_b + d2,

so eps < eps_b < eps_a holds for every iterate.  Reparametrisation: each of the nine box
coordinates x_i = (T_c, T_h, T_l, p_c, p_h, tau, eps, d1, d2)_i is

    x_i = lo_i + (hi_i - lo_i) * sigmoid(z_i),   z_i unconstrained,

(:class:`qbjax.optimize.box.Box`) and Optax's Adam (cosine-decayed learning rate) ascends the
objective in z (:func:`qbjax.optimize.multistart.adam_ascent`).  A boundary optimum
shows up as |z_i| growing without bound (x_i within 1e-3 of the width from an edge is flagged).

Objectives (``objective``; energies in the units of the model, hbar = k_B = 1):

* ``"ergotropy"``: the steady-state ergotropy E (energy units).  Defined and continuous everywhere
  in the box; no constraint.
* ``"ratio"``: E / E0, E0 the ergotropy of the coherence-free baseline (p_c = p_h = tau = 0).  This
  is ill-posed where E0 -> 0: under the physical conventions E0 = 0 exactly (no population
  inversion) in about 90% of the box, and there are configurations with E0 = 0 but E > 0 (the
  coherence alone makes the state active), so sup E/E0 = +inf on the boundary of the inversion
  region.  It is therefore maximised subject to ``E0 >= e0_min`` (default 1e-3, an absolute energy,
  about 0.1% of a typical level spacing; the sweep's own filter E0 > 1e-12 is ``e0_min=1e-12``, which
  lets the ratio run towards that supremum).
* ``"C4"``: the storage kurtosis ratio C4 = j4 / j0_4 (dimensionless).  The baseline cumulant j0_4
  approaches 0 in parts of the box (and changes sign under the published conventions), where C4 is
  unbounded; it is maximised subject to ``|j0_4| >= j0_min`` (default 1e-3) and, like the sweep's
  rows (all with E0 > 1e-12), to population inversion ``E0 >= e0_min`` (``e0_min=0`` drops that
  second constraint: then the maximum sits in the corner of small gaps and hot baths, where the
  thermal occupations ~ T/d reach ~700 and all cumulants are huge).  Under the published conventions
  j4 itself diverges where the printed generator's top eigenvalue meets another one (exceptional
  points), so there the constrained problem has no finite maximum either: the result reports what
  the ascent reached.

Constraint handling (constraints c_k >= c_min_k, c = E0 or |j0_4|): the ascent maximises

    F = f_clamped - mu * (1 + |f_clamped|) * sum_k relu(1 - c_k / c_min_k),     mu = 100,

with f_clamped the objective with its denominator clamped to at least c_min in magnitude, so F is
finite everywhere and a violation costs mu times the objective's own scale (the factor 1 + |f| is
held constant under differentiation).  Only *feasible* iterates (finite objective, every c_k >=
c_min_k) are ever reported: each start keeps the best feasible point it visited.  Where the optimum
lies on a constraint (typically E0 = e0_min for the ratio) the result says so (``active_constraints``).  Starts are rejection
sampled: from a seeded pool of uniform points (u = (x - lo)/(hi - lo) in [0.02, 0.98]^9), the
first ``starts`` that are feasible with f > 0 (E > 0: E = 0 is flat) are used, topped up with
infeasible ones if the pool has too few.

Everything (all starts, all steps) runs as one ``jit(vmap(scan))`` over starts, in segments of
``segment`` steps so that progress can be printed; the compiled segment is reused.

The comparison grid is the sweep's seeded Table-I grid (:func:`qbjax.sweep.grid.table_one_axes`,
``config_id`` = flat C-order index), filtered by the sweep's own rules (:func:`qbjax.sweep.filter.
filter_masks`): every column finite, E0 > 1e-12, |j0_i| > 1e-12 (i = 1..4); see
:mod:`qbjax.optimize.grid`.  The grid best is reported under these rules and under these
rules plus the optimiser's constraint (the like-for-like comparison).

CLI: ``qbjax optimize four-level --objective ratio|ergotropy|C4|all`` (:mod:`qbjax.optimize.cli`),
which writes ``result.json``, ``convergence.png``, ``box.png``, ``summary.md`` and ``manifest.json``
(:mod:`qbjax.optimize.output`).
"""

from __future__ import annotations

import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.four_level import (
    CONVENTIONS,
    PARAMETERS,
    TABLE_ONE_RANGES,
    FourLevelBattery,
    configuration_features,
    four_level_features,
)
from ..sweep.filter import filter_masks
from .box import Box
from .defaults import E0_MIN, J0_MIN, OBJECTIVES
from .multistart import adam_ascent, evaluate

__all__ = [
    "BOX",
    "BOX_NAMES",
    "OBJECTIVES",
    "FourLevelObjective",
    "box_bounds",
    "box_to_params",
    "from_box",
    "objective_fn",
    "optimize_four_level",
    "params_to_box",
    "to_box",
]

#: the nine box coordinates (the energies as eps and the two gaps)
BOX_NAMES = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "d1", "d2")
#: penalty weight (violation cost in units of the objective's own scale)
MU = 100.0
#: a start must have E > START_MIN (ratio, ergotropy): E = 0 is flat, and round-off gives ~1e-16
START_MIN = 1e-9
#: relative distance to an edge within which the best optimum is tried on the edge itself
SNAP_TOL = 0.01
#: relative distance to an edge below which a parameter counts as on the box boundary
BOUNDARY_TOL = 1e-3


#: the Table-I box in :data:`BOX_NAMES` order
BOX = Box([TABLE_ONE_RANGES[k][0] for k in BOX_NAMES], [TABLE_ONE_RANGES[k][1] for k in BOX_NAMES])


# ---------------------------------------------------------------------------------------------
# box mapping (pure functions)
# ---------------------------------------------------------------------------------------------


def box_bounds():
    """(lo, hi): float64 arrays of shape (9,) in :data:`BOX_NAMES` order (paper Table I)."""
    return BOX.lo.copy(), BOX.hi.copy()


def to_box(z):
    """Unconstrained z (..., 9) -> box coordinates x = lo + (hi - lo) sigmoid(z)."""
    return BOX(z)


def from_box(x, clip: float = 1e-12):
    """Box coordinates x (..., 9) -> z = logit((x - lo) / (hi - lo)) (NumPy; positions clipped to
    [clip, 1 - clip] so that edges map to large finite z)."""
    return BOX.inverse(x, clip)


def box_to_params(x, xp=jnp) -> dict:
    """Box coordinates x (..., 9) -> the nine model parameters (eps_b = eps + d1, eps_a = eps_b + d2)."""
    x = xp.asarray(x)
    p = {k: x[..., i] for i, k in enumerate(BOX_NAMES[:6])}
    p["eps"] = x[..., 6]
    p["eps_b"] = x[..., 6] + x[..., 7]
    p["eps_a"] = x[..., 6] + x[..., 7] + x[..., 8]
    return p


def params_to_box(params: dict) -> np.ndarray:
    """The nine model parameters (dict of arrays) -> box coordinates x (..., 9) (NumPy)."""
    p = {k: np.asarray(params[k], dtype=np.float64) for k in PARAMETERS}
    cols = [p[k] for k in BOX_NAMES[:6]] + [p["eps"], p["eps_b"] - p["eps"], p["eps_a"] - p["eps_b"]]
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# ---------------------------------------------------------------------------------------------
# objectives (one configuration; differentiable)
# ---------------------------------------------------------------------------------------------


def _check_objective(objective: str, conventions: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}; got objective = {objective!r}")
    if conventions not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {CONVENTIONS}; got conventions = {conventions!r}")


def _model_params(x) -> dict:
    p = box_to_params(x)
    one = jnp.ones_like(p["eps"])
    p["r"] = one
    p["g"] = one
    return p


def _terms(x, objective: str, conventions: str, e0_min: float, j0_min: float):
    """(f, f_clamped, constraints) at box point x: the raw objective, its denominator-clamped form
    and a tuple of (c, c_min) pairs, feasible when c >= c_min (module docstring)."""
    order = 4 if objective == "C4" else 1
    f = configuration_features(_model_params(x), conventions, order)
    E, E0 = f["E"], f["E0"]
    if objective == "ergotropy":
        return E, E, ()
    if objective == "ratio":
        return E / E0, E / jnp.maximum(E0, e0_min), ((E0, e0_min),)
    j4, j04 = f["j4"], f["j0_4"]
    sign = jnp.where(j04 < 0, -1.0, 1.0)
    cons = ((jnp.abs(j04), j0_min),) + (((E0, e0_min),) if e0_min > 0 else ())
    return j4 / j04, j4 / (sign * jnp.maximum(jnp.abs(j04), j0_min)), cons


def objective_fn(objective: str = "ratio", conventions: str = "physical"):
    """The raw objective as a differentiable function of the box coordinates x (9,) -> scalar:
    E / E0 (``"ratio"``), E (``"ergotropy"``) or j4 / j0_4 (``"C4"``); no constraint applied."""
    _check_objective(objective, conventions)
    return lambda x: _terms(jnp.asarray(x), objective, conventions, 0.0, 0.0)[0]


class FourLevelObjective(eqx.Module):
    """The penalised objective of the ascent at unconstrained z (9,) (module docstring):
    (F, (f, feasible)) with F = f_clamped - MU (1 + |f_clamped|) sum_k relu(1 - c_k / c_min_k)."""

    objective: str = eqx.field(static=True)
    conventions: str = eqx.field(static=True)
    e0_min: float = eqx.field(static=True)
    j0_min: float = eqx.field(static=True)

    def __call__(self, z):
        f, fc, cons = _terms(to_box(z), self.objective, self.conventions, self.e0_min, self.j0_min)
        F = fc
        feasible = jnp.isfinite(f)
        for c, c_min in cons:
            F = F - MU * (1.0 + jnp.abs(jax.lax.stop_gradient(fc))) * jax.nn.relu(1.0 - c / c_min)
            feasible = feasible & (c >= c_min)
        return F, (f, feasible)


# ---------------------------------------------------------------------------------------------
# starts, edges and the description of an optimum
# ---------------------------------------------------------------------------------------------


def _feasible_values(obj: FourLevelObjective, z):
    f, feasible = evaluate(obj, jnp.asarray(z))[1]
    return np.asarray(f), np.asarray(feasible)


def _seeded_starts(obj: FourLevelObjective, starts: int, seed: int, pool: int):
    """Rejection-sampled starts (see the module docstring): (z0 (starts, 9), feasible (starts,))."""
    z = BOX.starts(np.random.default_rng(seed), max(pool, starts))
    f, feasible = _feasible_values(obj, z)
    good = feasible & np.isfinite(f) & ((f > START_MIN) if obj.objective != "C4" else True)
    order = np.concatenate([np.flatnonzero(good), np.flatnonzero(~good)])[:starts]
    return z[order], good[order]


def _snap_to_edges(obj: FourLevelObjective, z, value, batch: int, tol: float = SNAP_TOL):
    """Greedy polish of a boundary optimum: a coordinate within ``tol`` (relative) of an edge is moved
    onto it (z = +-inf, so x = lo or hi exactly) when that keeps the point feasible and does not lower
    the objective.  (Adam in the sigmoid coordinates only approaches an edge like |z| ~ lr * steps.)
    The compiled evaluator is called on ``batch`` copies (the starts' shape: no recompilation).
    Returns (z, value, names of the snapped coordinates)."""
    z = np.array(z, dtype=np.float64)
    u = 1.0 / (1.0 + np.exp(-z))
    snapped = []
    for i in np.argsort(np.minimum(u, 1 - u)):
        if min(u[i], 1 - u[i]) > tol:
            break
        cand = z.copy()
        cand[i] = -np.inf if u[i] < 0.5 else np.inf
        f, feasible = (a[0] for a in _feasible_values(obj, np.repeat(cand[None], batch, axis=0)))
        if feasible and np.isfinite(f) and f >= value:
            z, value = cand, float(f)
            snapped.append(BOX_NAMES[i])
    return z, value, snapped


def _constraint_text(objective: str, e0_min: float, j0_min: float):
    if objective == "ratio":
        return f"E0 >= {e0_min:g}"
    if objective == "C4":
        return f"|j0_4| >= {j0_min:g}" + (f", E0 >= {e0_min:g}" if e0_min > 0 else "")
    return None


def _active(objective: str, feat: dict, e0_min: float, j0_min: float) -> list:
    """Constraints within 10% of their threshold at the optimum."""
    out = []
    if objective in ("ratio", "C4") and e0_min > 0 and feat["E0"] <= 1.1 * e0_min:
        out.append(f"E0 = {feat['E0']:.4g} (E0_min {e0_min:g})")
    if objective == "C4" and abs(feat["j0_4"]) <= 1.1 * j0_min:
        out.append(f"|j0_4| = {abs(feat['j0_4']):.4g} (j0_min {j0_min:g})")
    return out


def _boundary(x) -> dict:
    u = BOX.position(x)
    return {
        "position": {k: float(v) for k, v in zip(BOX_NAMES, u)},
        "at_lower": [k for k, v in zip(BOX_NAMES, u) if v <= BOUNDARY_TOL],
        "at_upper": [k for k, v in zip(BOX_NAMES, u) if v >= 1 - BOUNDARY_TOL],
    }


def _full_features(x, conventions: str) -> dict:
    p = box_to_params(np.asarray(x, dtype=np.float64)[None, :], xp=np)
    f = four_level_features(p, conventions, order=4, validate=True)
    return {k: float(np.asarray(v)[0]) for k, v in f.items()}


def _passes_sweep_filter(feat: dict) -> bool:
    """Would the sweep's filter (:func:`qbjax.sweep.filter.filter_masks`) keep this configuration?"""
    cols = {k: np.array([v]) for k, v in feat.items()} | {"config_id": np.zeros(1, dtype=np.int64)}
    return bool(filter_masks(cols)[-1][0])


def _rho_min_eigenvalue(x, conventions: str) -> float:
    """Smallest eigenvalue of the steady-state rho (< 0: not a density matrix, which the printed
    Eq. (1) allows: its normalised top eigenvector can carry a coherence |Re rho12| > populations)."""
    p = box_to_params(np.asarray(x, dtype=np.float64), xp=np)
    model = FourLevelBattery(**{k: float(v) for k, v in p.items()}, conventions=conventions)
    return float(np.linalg.eigvalsh(np.asarray(model.density_matrix())).min())


def _describe(x, conventions: str) -> dict:
    x = np.asarray(x, dtype=np.float64)
    feat = _full_features(x, conventions)
    lam_min = _rho_min_eigenvalue(x, conventions)
    return {
        "params": {k: feat[k] for k in PARAMETERS} | {"d1": float(x[7]), "d2": float(x[8])},
        "features": {k: feat[k] for k in ("E", "E0", "ratio", "C4", "j4", "j0_1", "j0_2", "j0_3", "j0_4")},
        "passes_sweep_filter": _passes_sweep_filter(feat),
        "rho_min_eigenvalue": lam_min,
        "rho_is_density_matrix": bool(lam_min >= -1e-9),
        **_boundary(x),
    }


def optimize_four_level(
    objective: str = "ratio",
    conventions: str = "physical",
    starts: int = 64,
    steps: int = 400,
    seed: int = 0,
    lr: float = 0.1,
    e0_min: float = E0_MIN,
    j0_min: float = J0_MIN,
    segment: int = 50,
    pool: int | None = None,
    init=None,
    progress=print,
) -> dict:
    """Maximise ``objective`` over the Table-I box from ``starts`` seeded starts (module docstring).

    Args:
        objective: ``"ratio"`` (E/E0 with E0 >= e0_min), ``"ergotropy"`` (E) or ``"C4"``
            (j4/j0_4 with |j0_4| >= j0_min).
        conventions: ``"physical"`` (default, the corrected generator) or ``"published"`` (printed Eq. (1)).
        starts: number of starts (>= 1), all advanced together by one vmapped compiled loop.
        steps: Adam steps per start (>= 1); lr: initial learning rate in z (cosine decay to lr/100).
        seed: seed of the start pool; pool: its size (default max(32 starts, 512)).
        e0_min, j0_min: constraint thresholds (energy units for E0, rate units for j0_4); the ratio
            needs e0_min > 0, C4 needs j0_min > 0 (e0_min = 0 drops its inversion constraint).
        segment: steps per compiled call (progress is printed after each).
        init: optional given starts, box points of shape (k, 9) with k <= starts (e.g. the grid's best
            configuration); they replace the first k random starts.
        progress: callable taking a line of text, or None.

    Returns:
        dict with ``value`` (best feasible objective), ``x`` (box coordinates), ``params``,
        ``features``, ``position``/``at_lower``/``at_upper`` (boundary flags), ``history`` (steps x
        starts running best), ``starts`` (one record per start), ``wall_s``, ``n_steps``, settings.
    """
    _check_objective(objective, conventions)
    if int(starts) != starts or starts < 1:
        raise ValueError(f"starts must be an integer >= 1; got starts = {starts!r}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an integer >= 1; got steps = {steps!r}")
    if int(segment) != segment or segment < 1:
        raise ValueError(f"segment must be an integer >= 1; got segment = {segment!r}")
    for name, v in (("e0_min", e0_min), ("j0_min", j0_min), ("lr", lr)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; got {name} = {v!r}")
    for name, v in (("j0_min", j0_min), ("lr", lr)) + ((("e0_min", e0_min),) if objective == "ratio" else ()):
        if v <= 0:
            raise ValueError(f"{name} must be > 0 for objective {objective!r}; got {name} = {v!r}")
    starts, steps, segment = int(starts), int(steps), min(int(segment), int(steps))
    pool = max(32 * starts, 512) if pool is None else int(pool)
    say = progress or (lambda s: None)

    n_given = 0
    if init is not None:
        given = np.atleast_2d(np.asarray(init, dtype=np.float64))
        if given.ndim != 2 or given.shape[-1] != 9 or len(given) > starts or np.any(given < BOX.lo) or np.any(given > BOX.hi):
            raise ValueError(f"init must be at most starts = {starts} points of the box, shape (k, 9); "
                             f"got shape {given.shape}")
        n_given = len(given)

    t0 = time.perf_counter()
    obj = FourLevelObjective(objective, conventions, float(e0_min), float(j0_min))
    z0, start_ok = _seeded_starts(obj, starts, seed, pool)
    if n_given:
        z0 = np.concatenate([from_box(given), z0[: starts - n_given]])
    say(f"[inverse-design] {objective} ({conventions}): {starts} starts ({int(start_ok.sum())} feasible of a "
        f"pool of {pool}), {steps} Adam steps, lr {lr}; compiling ...")

    def report(step, b):
        say(f"[inverse-design] step {step}/{steps}: best {np.max(b):.6g}, "
            f"median over starts {np.median(b[np.isfinite(b)]) if np.isfinite(b).any() else float('nan'):.6g}, "
            f"{time.perf_counter() - t0:.1f} s")

    run = adam_ascent(obj, z0, steps=steps, lr=float(lr), segment=segment, progress=report)
    best_f, best_z, f0, feas0 = run["best_f"], run["best_z"], run["init_f"], run["init_feasible"]
    history, current = run["history"], run["current"]
    wall = time.perf_counter() - t0

    x_best = np.asarray(to_box(jnp.asarray(best_z)))
    x0 = np.asarray(to_box(jnp.asarray(z0)))
    records = []
    for i in range(starts):
        records.append({
            "start": i,
            "kind": "given" if i < n_given else "random",
            "init_feasible": bool(feas0[i]),
            "init_value": float(f0[i]) if feas0[i] else None,
            "init_x": x0[i].tolist(),
            "value": float(best_f[i]) if np.isfinite(best_f[i]) else None,
            "x": x_best[i].tolist(),
        })
    if not np.isfinite(best_f).any():
        raise RuntimeError(f"no feasible point found for objective {objective!r} ({conventions}); "
                           f"try more starts or a smaller threshold")
    k = int(np.nanargmax(np.where(np.isfinite(best_f), best_f, -np.inf)))
    z_k, value, snapped = _snap_to_edges(obj, best_z[k], best_f[k], starts)
    x_k = np.asarray(to_box(jnp.asarray(z_k)))
    desc = _describe(x_k, conventions)
    desc["snapped_to_edge"] = snapped
    desc["active_constraints"] = _active(objective, desc["features"], e0_min, j0_min)
    say(f"[inverse-design] best {objective} = {value:.6g} (start {k}); on lower edge: "
        f"{desc['at_lower'] or '-'}; on upper edge: {desc['at_upper'] or '-'}; active constraints: "
        f"{desc['active_constraints'] or '-'}; {wall:.1f} s")
    return {
        "objective": objective,
        "conventions": conventions,
        "value": float(value),
        "x": x_k.tolist(),
        **desc,
        "best_start": k,
        "wall_s": wall,
        "n_steps": steps,
        "n_starts": starts,
        "history": history,
        "current": current,
        "starts": records,
        "settings": {
            "objective": objective, "conventions": conventions, "starts": starts, "steps": steps,
            "seed": seed, "lr": lr, "pool": pool, "segment": segment, "given_starts": n_given,
            "constraint": _constraint_text(objective, e0_min, j0_min),
            "e0_min": e0_min, "j0_min": j0_min, "mu": MU, "boundary_tol": BOUNDARY_TOL,
            "optimizer": "optax.adam, cosine-decayed lr (to lr/100); sigmoid box reparametrisation; "
                         "penalty F = f - mu (1 + |f|) sum relu(1 - c/c_min); best feasible iterate kept",
        },
    }


