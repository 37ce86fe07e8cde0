"""Differentiable inverse design of the four-level battery (issue 9, item 3; SPEC 4.1, paper 000).

No paper did this: instead of classifying the 8^7 Table-I grid, climb the exact gradient of a
figure of merit over the nine continuous parameters, from many seeded starts at once, and compare
with the best configuration of the grid.

Box (paper Table I, :data:`qbjax.sweep.grid.RANGES`; units hbar = k_B = 1, r = g = 1):

    T_c, T_h, T_l in [0.1, 7],  p_c, p_h in [0.1, 1],  tau in [0.01, 2],
    eps, d1, d2 in [0.01, 2],   eps_b = eps + d1,  eps_a = eps_b + d2,

so eps < eps_b < eps_a holds for every iterate.  Reparametrisation: each of the nine box
coordinates x_i = (T_c, T_h, T_l, p_c, p_h, tau, eps, d1, d2)_i is

    x_i = lo_i + (hi_i - lo_i) * sigmoid(z_i),   z_i unconstrained,

and Optax's Adam (cosine-decayed learning rate) ascends the objective in z.  A boundary optimum
shows up as |z_i| growing without bound (x_i within 1e-3 of the width from an edge is flagged).

Objectives (``objective``; values in the units of SPEC 4.1):

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
``config_id`` = flat C-order index), filtered as the sweep does (SPEC 4.1): every column finite,
E0 > 1e-12, |j0_i| > 1e-12 (i = 1..4).  The grid best is reported under these rules and under these
rules plus the optimiser's constraint (the like-for-like comparison).

CLI: ``qbjax optimize four-level --objective ratio|ergotropy|C4|all`` (registered by
:func:`qbjax.optimize.register`), which writes ``result.json``, ``convergence.png``, ``box.png``,
``summary.md`` and ``manifest.json``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .models.four_level import (
    CONVENTIONS,
    FEATURES,
    PARAMETERS,
    _features,
    four_level_features,
)
from .sweep.grid import RANGES, config_ids_to_params, n_configs, table_one_axes

__all__ = [
    "BOX_NAMES",
    "OBJECTIVES",
    "box_bounds",
    "box_to_params",
    "from_box",
    "grid_best",
    "objective_fn",
    "optimize_four_level",
    "params_to_box",
    "to_box",
]

#: figures of merit that can be maximised
OBJECTIVES = ("ratio", "ergotropy", "C4")
#: the nine box coordinates (the energies as eps and the two gaps)
BOX_NAMES = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "d1", "d2")
#: default constraint thresholds (E0 >= E0_MIN for the ratio, |j0_4| >= J0_MIN for C4)
E0_MIN = 1e-3
J0_MIN = 1e-3
#: the sweep's filter tolerance (SPEC 4.1): E0 > 1e-12, |j0_i| > 1e-12
SWEEP_TOL = 1e-12
#: penalty weight (violation cost in units of the objective's own scale)
MU = 100.0
#: a start must have E > START_MIN (ratio, ergotropy): E = 0 is flat, and round-off gives ~1e-16
START_MIN = 1e-9
#: relative distance to an edge within which the best optimum is tried on the edge itself
SNAP_TOL = 0.01
#: relative distance to an edge below which a parameter counts as on the box boundary
BOUNDARY_TOL = 1e-3


# ---------------------------------------------------------------------------------------------
# box mapping (pure functions)
# ---------------------------------------------------------------------------------------------


def box_bounds():
    """(lo, hi): float64 arrays of shape (9,) in :data:`BOX_NAMES` order (paper Table I)."""
    lo = np.array([RANGES[k][0] for k in BOX_NAMES], dtype=np.float64)
    hi = np.array([RANGES[k][1] for k in BOX_NAMES], dtype=np.float64)
    return lo, hi


def to_box(z):
    """Unconstrained z (..., 9) -> box coordinates x = lo + (hi - lo) sigmoid(z)."""
    lo, hi = box_bounds()
    return jnp.asarray(lo) + jnp.asarray(hi - lo) * jax.nn.sigmoid(jnp.asarray(z))


def from_box(x, clip: float = 1e-12):
    """Box coordinates x (..., 9) -> z = logit((x - lo) / (hi - lo)) (NumPy; u clipped to
    [clip, 1 - clip] so that edges map to large finite z)."""
    lo, hi = box_bounds()
    u = np.clip((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), clip, 1 - clip)
    return np.log(u) - np.log1p(-u)


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
    f = _features(_model_params(x), conventions, order)
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


def _penalised(z, objective: str, conventions: str, e0_min: float, j0_min: float):
    """(F, (f, feasible)) at unconstrained z: F = f_clamped - MU (1 + |f_clamped|) sum_k relu(1 - c_k/c_min_k)."""
    x = to_box(z)
    f, fc, cons = _terms(x, objective, conventions, e0_min, j0_min)
    F = fc
    feasible = jnp.isfinite(f)
    for c, c_min in cons:
        F = F - MU * (1.0 + jnp.abs(jax.lax.stop_gradient(fc))) * jax.nn.relu(1.0 - c / c_min)
        feasible = feasible & (c >= c_min)
    return F, (f, feasible)


# ---------------------------------------------------------------------------------------------
# the vmapped ascent
# ---------------------------------------------------------------------------------------------

_CACHE: dict = {}


def _compiled(objective: str, conventions: str, e0_min: float, j0_min: float, lr: float, steps: int, segment: int):
    """(evaluate, init, run_segment), jitted and vmapped over starts (cached per setting)."""
    import optax

    key = (objective, conventions, e0_min, j0_min, lr, steps, segment)
    if key in _CACHE:
        return _CACHE[key]
    opt = optax.adam(optax.cosine_decay_schedule(lr, max(steps, 1), alpha=1e-2))

    def neg(z):
        F, aux = _penalised(z, objective, conventions, e0_min, j0_min)
        return -F, aux

    value_and_grad = jax.value_and_grad(neg, has_aux=True)

    def evaluate(z):
        return _penalised(z, objective, conventions, e0_min, j0_min)[1]

    def step(carry, _):
        z, state, k, best_f, best_z = carry
        (negF, (f, feasible)), g = value_and_grad(z)
        better = feasible & (f > best_f)
        best_f = jnp.where(better, f, best_f)
        best_z = jnp.where(better, z, best_z)
        updates, new_state = opt.update(g, state, z)
        active = jnp.isfinite(negF) & jnp.all(jnp.isfinite(g)) & (k < steps)
        z = jnp.where(active, z + updates, z)
        state = jax.tree.map(lambda a, b: jnp.where(active, a, b), new_state, state)
        return (z, state, k + 1, best_f, best_z), (jnp.where(feasible, f, jnp.nan), best_f)

    def run_segment(carry):
        return jax.lax.scan(step, carry, None, length=segment)

    out = (jax.jit(jax.vmap(evaluate)), jax.jit(jax.vmap(opt.init)), jax.jit(jax.vmap(run_segment)))
    _CACHE[key] = out
    return out


def _seeded_starts(evaluate, objective: str, starts: int, seed: int, pool: int):
    """Rejection-sampled starts (see the module docstring): (z0 (starts, 9), feasible (starts,))."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.02, 0.98, size=(max(pool, starts), 9))
    z = np.log(u) - np.log1p(-u)
    f, feasible = (np.asarray(a) for a in evaluate(jnp.asarray(z)))
    good = feasible & np.isfinite(f) & ((f > START_MIN) if objective != "C4" else True)
    order = np.concatenate([np.flatnonzero(good), np.flatnonzero(~good)])[:starts]
    return z[order], good[order]


def _snap_to_edges(evaluate, z, value, batch: int, tol: float = SNAP_TOL):
    """Greedy polish of a boundary optimum: a coordinate within ``tol`` (relative) of an edge is moved
    onto it (z = +-inf, so x = lo or hi exactly) when that keeps the point feasible and does not lower
    the objective.  (Adam in the sigmoid coordinates only approaches an edge like |z| ~ lr * steps.)
    ``evaluate`` is the compiled vmapped evaluator (called on ``batch`` copies: no recompilation).
    Returns (z, value, names of the snapped coordinates)."""
    z = np.array(z, dtype=np.float64)
    u = 1.0 / (1.0 + np.exp(-z))
    snapped = []
    for i in np.argsort(np.minimum(u, 1 - u)):
        if min(u[i], 1 - u[i]) > tol:
            break
        cand = z.copy()
        cand[i] = -np.inf if u[i] < 0.5 else np.inf
        f, feasible = (np.asarray(a)[0] for a in evaluate(jnp.asarray(np.repeat(cand[None], batch, axis=0))))
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
    lo, hi = box_bounds()
    u = (np.asarray(x) - lo) / (hi - lo)
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
    finite = all(math.isfinite(feat[k]) for k in FEATURES)
    j0 = all(abs(feat[f"j0_{i}"]) > SWEEP_TOL for i in range(1, 5))
    return bool(finite and feat["E0"] > SWEEP_TOL and j0)


def _rho_min_eigenvalue(x, conventions: str) -> float:
    """Smallest eigenvalue of the steady-state rho (< 0: not a density matrix, which the printed
    Eq. (1) allows: its normalised top eigenvector can carry a coherence |Re rho12| > populations)."""
    from .models.four_level import FourLevelBattery, _density_matrix

    p = box_to_params(np.asarray(x, dtype=np.float64), xp=np)
    state = FourLevelBattery(**{k: float(v) for k, v in p.items()}, conventions=conventions).steady_state()
    return float(np.linalg.eigvalsh(np.asarray(_density_matrix(state))).min())


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
        conventions: ``"physical"`` (default) or ``"published"`` (SPEC 4.1).
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
        lo, hi = box_bounds()
        if given.ndim != 2 or given.shape[-1] != 9 or len(given) > starts or np.any(given < lo) or np.any(given > hi):
            raise ValueError(f"init must be at most starts = {starts} points of the box, shape (k, 9); "
                             f"got shape {given.shape}")
        n_given = len(given)

    t0 = time.perf_counter()
    evaluate, init, run_segment = _compiled(objective, conventions, float(e0_min), float(j0_min), float(lr), steps, segment)
    z0, start_ok = _seeded_starts(evaluate, objective, starts, seed, pool)
    if n_given:
        z0 = np.concatenate([from_box(given), z0[: starts - n_given]])
    f0, feas0 = (np.asarray(a) for a in evaluate(jnp.asarray(z0)))
    z = jnp.asarray(z0)
    best_f = jnp.where(jnp.asarray(feas0), jnp.asarray(f0), -jnp.inf)
    carry = (z, init(z), jnp.zeros(starts, dtype=jnp.int32), best_f, z)
    say(f"[inverse-design] {objective} ({conventions}): {starts} starts ({int(start_ok.sum())} feasible of a "
        f"pool of {pool}), {steps} Adam steps, lr {lr}; compiling ...")
    history, current = [], []
    n_seg = -(-steps // segment)
    for s in range(n_seg):
        carry, (f_now, f_best) = run_segment(carry)
        history.append(np.asarray(f_best).T)
        current.append(np.asarray(f_now).T)
        b = np.asarray(carry[3])
        say(f"[inverse-design] step {min((s + 1) * segment, steps)}/{steps}: best {np.max(b):.6g}, "
            f"median over starts {np.median(b[np.isfinite(b)]) if np.isfinite(b).any() else float('nan'):.6g}, "
            f"{time.perf_counter() - t0:.1f} s")
    z_end, best_f, best_z = carry[0], np.array(carry[3]), np.array(carry[4])
    # the point after the last update was never evaluated inside the loop
    f_end, feas_end = (np.asarray(a) for a in evaluate(z_end))
    better = feas_end & (f_end > best_f)
    best_f = np.where(better, f_end, best_f)
    best_z = np.where(better[:, None], np.asarray(z_end), best_z)
    history = np.concatenate(history, axis=0)[:steps]
    current = np.concatenate(current, axis=0)[:steps]
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
    z_k, value, snapped = _snap_to_edges(evaluate, best_z[k], best_f[k], starts)
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


# ---------------------------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------------------------


def _grid_objectives(f: dict, e0_min: float, j0_min: float) -> dict:
    """Per objective: (values, sweep-filter mask, constrained mask) for one chunk of features."""
    ok = np.ones_like(f["E"], dtype=bool)
    for k in FEATURES:
        ok &= np.isfinite(f[k])
    ok &= f["E0"] > SWEEP_TOL
    for i in range(1, 5):
        ok &= np.abs(f[f"j0_{i}"]) > SWEEP_TOL
    return {
        "ratio": (f["ratio"], ok, ok & (f["E0"] >= e0_min)),
        "ergotropy": (f["E"], ok, ok),
        "C4": (f["C4"], ok, ok & (np.abs(f["j0_4"]) >= j0_min) & (f["E0"] >= e0_min)),
    }


def _empty_best():
    return {"value": -np.inf, "config_id": None}


def grid_best(points: int = 8, grid_seed: int = 0, conventions: str = "physical", e0_min: float = E0_MIN,
              j0_min: float = J0_MIN, chunk: int = 2**16, dataset=None, progress=print) -> dict:
    """Best configuration of the seeded Table-I grid for every objective (one pass over the grid).

    The grid is evaluated with :func:`four_level_features` in chunks of ``chunk`` configurations
    (or read from a ``qbjax sweep`` dataset directory ``dataset`` when :func:`qbjax.sweep.read_dataset`
    exists).  Returns {objective: {"filtered": best under the sweep filter, "constrained": best under
    the filter and the optimiser's constraint}, "n_total", "n_kept", "wall_s"}; each best is
    {value, config_id, x, params, ...}.
    """
    if conventions not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {CONVENTIONS}; got conventions = {conventions!r}")
    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    axes = table_one_axes(points, grid_seed)
    total = n_configs(points)
    best = {o: {"filtered": _empty_best(), "constrained": _empty_best()} for o in OBJECTIVES}
    n_kept = 0

    def consume(ids, f):
        nonlocal n_kept
        objs = _grid_objectives(f, e0_min, j0_min)
        for o, (v, ok, okc) in objs.items():
            for kind, m in (("filtered", ok), ("constrained", okc)):
                if m.any():
                    i = int(np.argmax(np.where(m, v, -np.inf)))
                    if v[i] > best[o][kind]["value"]:
                        best[o][kind] = {"value": float(v[i]), "config_id": int(ids[i])}
        n_kept += int(objs["ratio"][1].sum())

    if dataset is not None:
        f, ids = _read_dataset(dataset)
        if len(ids) != total:
            say(f"[inverse-design] warning: dataset has {len(ids)} rows, the grid {total}")
        consume(ids, f)
    else:
        chunk = min(int(chunk), total)
        n_chunks = -(-total // chunk)
        for c in range(n_chunks):
            ids = np.arange(c * chunk, min((c + 1) * chunk, total))
            pad = np.concatenate([ids, np.zeros(chunk - len(ids), dtype=ids.dtype)]) if len(ids) < chunk else ids
            f = four_level_features(config_ids_to_params(axes, pad), conventions, validate=False)
            f = {k: np.asarray(v)[: len(ids)] for k, v in f.items()}
            consume(ids, f)
            if progress and (c + 1 == n_chunks or (c + 1) % max(1, n_chunks // 8) == 0):
                say(f"[inverse-design] grid {points}^7 ({conventions}): {min((c + 1) * chunk, total)}/{total} "
                    f"configurations, {time.perf_counter() - t0:.1f} s")
    for o in OBJECTIVES:
        for kind in ("filtered", "constrained"):
            b = best[o][kind]
            if b["config_id"] is None:
                b["value"] = None
                continue
            p = config_ids_to_params(axes, np.array([b["config_id"]]))
            x = params_to_box({k: v[0] for k, v in p.items()})
            b.update({"x": x.tolist(), **_describe(x, conventions)})
    return {**best, "n_total": total, "n_kept": n_kept, "points": points, "grid_seed": grid_seed,
            "conventions": conventions, "source": str(dataset) if dataset else "computed",
            "wall_s": time.perf_counter() - t0}


def _read_dataset(path):
    """(features dict, config_ids) from a ``qbjax sweep`` dataset directory."""
    try:
        from .sweep import read_dataset
    except ImportError as exc:
        raise ValueError("--dataset needs qbjax.sweep.read_dataset, which this qbjax does not have") from exc
    data = read_dataset(path)
    if hasattr(data, "to_pandas"):
        data = data.to_pandas()
    cols = list(data.keys()) if hasattr(data, "keys") else list(data.columns)
    missing = [k for k in FEATURES + ("config_id",) if k not in cols]
    if missing:
        raise ValueError(f"dataset {path} lacks columns {missing}")
    f = {k: np.asarray(data[k], dtype=np.float64) for k in FEATURES}
    return f, np.asarray(data["config_id"], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# outputs: result.json, figures, markdown
# ---------------------------------------------------------------------------------------------


def _compare(res: dict, grid: dict) -> dict:
    o = res["objective"]
    g = grid[o]["constrained"]
    ratio = res["value"] / g["value"] if g["value"] not in (None, 0) else None
    return {
        "grid_best": g, "grid_best_sweep_filter_only": grid[o]["filtered"],
        "optimum_over_grid": ratio,
        "grid": {k: grid[k] for k in ("n_total", "n_kept", "points", "grid_seed", "source", "wall_s")},
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_result(res: dict, grid: dict, out_dir) -> dict:
    """Write result.json, convergence.png and box.png under ``out_dir``; returns the JSON dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in res.items() if k not in ("history", "current")}
    data.update(_compare(res, grid))
    data["convergence"] = {"best_per_step_over_starts": np.max(res["history"], axis=1)}
    data = _jsonable(data)
    (out / "result.json").write_text(json.dumps(data, indent=2))
    _plot_convergence(res, data, out / "convergence.png")
    _plot_box(res, data, out / "box.png")
    return data


def _plot_convergence(res, data, path):
    from .reproduce.report import pyplot

    plt = pyplot()
    h = np.where(np.isfinite(res["history"]), res["history"], np.nan)
    steps = np.arange(1, h.shape[0] + 1)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(steps, h, color="0.6", lw=0.6, alpha=0.6)
    ax.plot(steps, h[:, res["best_start"]], color="tab:red", lw=1.8, label=f"best start ({res['best_start']})")
    g = data["grid_best"]["value"]
    if g is not None:
        ax.axhline(g, color="tab:blue", ls="--", label=f"grid best {g:.4g} (id {data['grid_best']['config_id']})")
    pos = h[np.isfinite(h)]
    if pos.size and pos.min() > 0 and pos.max() / pos.min() > 50:
        ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel(f"{res['objective']} (best feasible so far)")
    ax.set_title(f"{res['objective']} ({res['conventions']}): {res['n_starts']} starts")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_box(res, data, path):
    from .reproduce.report import pyplot

    plt = pyplot()
    lo, hi = box_bounds()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    xs = np.array([r["x"] for r in res["starts"] if r["value"] is not None])
    ys = np.arange(len(BOX_NAMES))
    if xs.size:
        u = (xs - lo) / (hi - lo)
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=u.shape)
        ax.scatter(u, ys[None, :] + jitter, s=8, color="0.6", label="each start's optimum")
    ub = (np.asarray(res["x"]) - lo) / (hi - lo)
    ax.scatter(ub, ys, marker="*", s=140, color="tab:red", zorder=3, label="best optimum")
    if data["grid_best"].get("x") is not None:
        ug = (np.asarray(data["grid_best"]["x"]) - lo) / (hi - lo)
        ax.scatter(ug, ys, marker="x", s=60, color="tab:blue", zorder=3, label="grid best")
    ax.set_yticks(ys, [f"{k} [{a:g}, {b:g}]" for k, a, b in zip(BOX_NAMES, lo, hi)])
    ax.set_xlim(-0.05, 1.05)
    ax.axvline(0, color="k", lw=0.5)
    ax.axvline(1, color="k", lw=0.5)
    ax.set_xlabel("position in the Table-I box, (x - lo) / (hi - lo)")
    ax.set_title(f"{res['objective']} ({res['conventions']}) = {res['value']:.5g}")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(v, d=5):
    if v is None:
        return "-"
    return f"{v:.{d}g}"


def _md(text) -> str:
    return (text or "-").replace("|", "\\|")


def markdown_summary(results: list[dict]) -> str:
    """A markdown table of result.json dicts (one row per objective/conventions)."""
    lines = [
        ("| objective | conventions | constraint | optimum | grid best (config_id) | optimum / grid | "
         "grid best, sweep filter only | on lower edge | on upper edge | active constraint | wall s |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in results:
        g, gf = d["grid_best"], d["grid_best_sweep_filter_only"]
        lines.append(
            f"| {d['objective']} | {d['conventions']} | {_md(d['settings']['constraint'])} | {_fmt(d['value'], 6)} | "
            f"{_fmt(g['value'], 6)} ({g['config_id']}) | {_fmt(d['optimum_over_grid'], 4)} | "
            f"{_fmt(gf['value'], 6)} ({gf['config_id']}) | {', '.join(d['at_lower']) or '-'} | "
            f"{', '.join(d['at_upper']) or '-'} | {_md('; '.join(d['active_constraints']))} | {d['wall_s']:.1f} |"
        )
    lines += ["", "| objective | conventions | " + " | ".join(PARAMETERS) + " | E | E0 |",
              "|---|---|" + "---|" * (len(PARAMETERS) + 2)]
    for d in results:
        p, f = d["params"], d["features"]
        lines.append(f"| {d['objective']} | {d['conventions']} | " + " | ".join(_fmt(p[k], 4) for k in PARAMETERS)
                     + f" | {_fmt(f['E'], 4)} | {_fmt(f['E0'], 4)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# CLI (registered by qbjax.optimize.register)
# ---------------------------------------------------------------------------------------------

#: CLI defaults of ``qbjax optimize four-level``
CLI_DEFAULTS = {"starts": 64, "steps": 400}


def add_arguments(p) -> None:
    """The four-level options of ``qbjax optimize`` (shared parser with the micromaser target)."""
    p.add_argument("--objective", choices=list(OBJECTIVES) + ["all"], default="ratio",
                   help="four-level: objective to maximise (default ratio; 'all' shares one grid pass)")
    p.add_argument("--conventions", choices=list(CONVENTIONS), default="physical",
                   help="four-level: generator conventions (default physical)")
    p.add_argument("--points", type=int, default=8, help="four-level: comparison grid points per axis (default 8)")
    p.add_argument("--grid-seed", type=int, default=0, help="four-level: seed of the Table-I grid (default 0)")
    p.add_argument("--lr", type=float, default=0.1, help="four-level: initial Adam learning rate (default 0.1)")
    p.add_argument("--e0-min", type=float, default=E0_MIN,
                   help=f"four-level ratio: constraint E0 >= E0_MIN (default {E0_MIN})")
    p.add_argument("--j0-min", type=float, default=J0_MIN,
                   help=f"four-level C4: constraint |j0_4| >= J0_MIN (default {J0_MIN})")
    p.add_argument("--from-grid", action="store_true",
                   help="four-level: use the grid's best configuration as the first start (the optimum is then "
                        "at least the grid best by construction)")
    p.add_argument("--dataset", help="four-level: read the grid from a `qbjax sweep` dataset directory")


def run_cli(args) -> int:
    """``qbjax optimize four-level``: optimise, compare with the grid, write the outputs."""
    from .cli import default_out
    from .reproduce.report import write_manifest

    starts = CLI_DEFAULTS["starts"] if args.starts is None else args.starts
    steps = CLI_DEFAULTS["steps"] if args.steps is None else args.steps
    objectives = list(OBJECTIVES) if args.objective == "all" else [args.objective]
    out = Path(args.out) if args.out else default_out(f"optimize-four-level-{args.objective}")
    for name, v in (("starts", starts), ("steps", steps), ("points", args.points)):
        if v < 1:
            raise SystemExit(f"qbjax optimize four-level: {name} must be >= 1; got {name} = {v}")
    def say(line):
        print(line, flush=True)

    t0 = time.perf_counter()
    say(f"[inverse-design] four-level: objective {args.objective}, conventions {args.conventions}, starts {starts}, "
        f"steps {steps}, seed {args.seed}; grid {args.points}^7 (seed {args.grid_seed}) -> {out}")
    grid = grid_best(args.points, args.grid_seed, args.conventions, args.e0_min, args.j0_min,
                     dataset=args.dataset, progress=say)
    timings = {"grid": round(grid["wall_s"], 3)}
    results = []
    for o in objectives:
        target = out / o if len(objectives) > 1 else out
        init = None
        if args.from_grid and grid[o]["constrained"]["config_id"] is not None:
            init = [grid[o]["constrained"]["x"]]
        res = optimize_four_level(o, args.conventions, starts=starts, steps=steps, seed=args.seed, lr=args.lr,
                                  e0_min=args.e0_min, j0_min=args.j0_min, init=init, progress=say)
        data = write_result(res, grid, target)
        results.append(data)
        timings[o] = round(res["wall_s"], 3)
        say(f"[inverse-design] {o}: optimum {data['value']:.6g} vs grid best {_fmt(data['grid_best']['value'], 6)} "
            f"(config_id {data['grid_best']['config_id']}), ratio {_fmt(data['optimum_over_grid'], 4)} -> "
            f"{target / 'result.json'}")
    summary = markdown_summary(results)
    (out / "summary.md").write_text(f"# Inverse design of the four-level battery ({args.conventions})\n\n" + summary)
    params = {k: v for k, v in vars(args).items() if k != "func"} | {"starts": starts, "steps": steps}
    timings["total"] = round(time.perf_counter() - t0, 3)
    write_manifest(out, f"optimize four-level --objective {args.objective}", params, timings, seed=args.seed)
    say(summary)
    return 0
