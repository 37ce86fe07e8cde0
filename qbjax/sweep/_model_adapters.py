"""The five built-in models' adapters for :mod:`qbjax.sweep.models`.

Each adapter is a dict of :class:`~qbjax.sweep.models.SweepModel` fields: the CLI name, the
parameters (float scalars a grid may vary), the static options (fixed: dimensions, counts,
conventions, ...), the defaults, a one-line description of the outputs, and

* ``build(values)``: the model from a dict holding every name (scalars, traced scalars, or, for
  ``check``, whole-grid 1-D arrays, which the constructors validate eagerly);
* ``features(model, values)``: the model's ``features()`` with the static options;
* ``check_static(values)``: the static options (eagerly, ``ValueError`` naming them);
* ``check(values)``: every configuration of the grid with the model's own rules;
* ``unused(values)``: names that do not apply for the static options.

The defaults are the papers' (four-level: the Fig. 1 set 1 of paper 000; micromaser: g =
pi / sqrt(15.6) of paper 002; Tavis-Cummings: the model's field defaults, paper 003's Table I; charger:
a fully excited charger, theta = pi) or the model's own field defaults.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from .._validate import Constraint, as_int, enforce, finite, positive
from ..models import charger_battery as _charger
from ..models import four_level as _four_level
from ..models import tavis_cummings as _tc
from ..models.charger_battery import ChargerBattery
from ..models.four_level import FourLevelBattery
from ..models.micromaser import Micromaser
from ..models.multi_cell import MultiCellBattery
from ..models.tavis_cummings import TavisCummingsBattery


def _options(values: dict, names) -> dict:
    return {k: values[k] for k in names}


def _float(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


def _one_of(value, name: str, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}; got {value!r}")


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def _positive_number(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be finite and > 0; got {value!r}")
    return v


def _rule_checker(build):
    """``check`` that builds the model from the whole grid's columns (its constructor validates them)."""
    def check(values):
        build(values)
    return check


# ---------------------------------------------------------------------------------------------
# four-level battery (paper 000): the single-configuration path of the dataset columns
# ---------------------------------------------------------------------------------------------

_FL_PARAMETERS = _four_level.PARAMETERS + ("r", "g")
_FL_DEFAULTS = {"T_c": 5.0, "T_h": 6.36, "T_l": 1.0, "p_c": 0.97, "p_h": 0.61, "tau": 0.95, "eps": 0.1,
                "eps_b": 0.4, "eps_a": 1.5, "r": 1.0, "g": 1.0, "conventions": "physical", "order": 4}


def _fl_build(v):
    return FourLevelBattery(**_options(v, _FL_PARAMETERS), conventions=v["conventions"])


def _fl_static(v):
    _one_of(v["conventions"], "conventions", _four_level.CONVENTIONS)
    as_int(v["order"], "order", minimum=1)


FOUR_LEVEL = dict(
    name="four-level", parameters=_FL_PARAMETERS, static=("conventions", "order"), defaults=_FL_DEFAULTS,
    doc="the steady-state dataset columns (scalars): the parameters, E, E0, ratio, j1..j4, j0_1..j0_4, "
        "C1..C4, Q_h, Q_c, W, F, eta",
    build=_fl_build, features=lambda m, v: m.features(as_int(v["order"], "order", minimum=1)),
    check_static=_fl_static, check=_rule_checker(_fl_build))


# ---------------------------------------------------------------------------------------------
# multi-cell battery (paper 001): two or three cells, per-cell temperatures, splittings, couplings
# ---------------------------------------------------------------------------------------------

_CELLS = {2: ("L", "R"), 3: ("L", "M", "R")}
_MC_PARAMETERS = ("T_L", "T_M", "T_R", "omega", "omega_L", "omega_M", "omega_R",
                  "lam", "lam_LM", "lam_LR", "lam_MR", "kappa")
_MC_DEFAULTS = {"T_L": 1.0, "T_M": 0.5, "T_R": 0.1, "omega": 1.0, "omega_L": None, "omega_M": None,
                "omega_R": None, "lam": 0.1, "lam_LM": None, "lam_LR": None, "lam_MR": None, "kappa": 1.0,
                "n_cells": 2, "steady": "pauli", "secular_tol": 1e-9}
# steady = "pauli": the rate equation, whose outputs equal the Liouvillian's everywhere (NaN at the level
# crossings included, see qbjax.models.multi_cell); the model's "auto" would, for couplings on the grid,
# evaluate both solvers under vmap (about 450x the cost for three cells)


def _mc_cells(v):
    n = as_int(v["n_cells"], "n_cells")
    if n not in _CELLS:
        raise ValueError(f"n_cells must be 2 or 3 (cells L, R or L, M, R); got {v['n_cells']!r}")
    return _CELLS[n]


def _mc_pairs(cells):
    return [(i, j, f"lam_{cells[i]}{cells[j]}") for i in range(len(cells)) for j in range(i + 1, len(cells))]


def _or(value, fallback):
    return fallback if value is None else value


def _mc_build(v):
    cells = _mc_cells(v)
    n = len(cells)
    omega = jnp.stack([_float(_or(v[f"omega_{c}"], v["omega"])) for c in cells])
    T = jnp.stack([_float(v[f"T_{c}"]) for c in cells])
    coupling = jnp.zeros((n, n), dtype=jnp.result_type(float))
    for i, j, name in _mc_pairs(cells):  # lam_ij once per pair, symmetric, zero diagonal
        lam = _float(_or(v[name], v["lam"]))
        coupling = coupling.at[i, j].set(lam).at[j, i].set(lam)
    return MultiCellBattery(omega, coupling, T, v["kappa"], secular_tol=v["secular_tol"], steady=v["steady"])


def _mc_static(v):
    _mc_cells(v)
    _positive_number(v["secular_tol"], "secular_tol")


def _mc_check(v):
    """The model's rules on omega, T and kappa for each cell's parameter, and finite couplings (the
    coupling matrix is symmetric with a zero diagonal by construction)."""
    cells = _mc_cells(v)
    given = lambda names: [k for k in names if v[k] is not None]  # noqa: E731
    groups = {"omega": given(["omega"] + [f"omega_{c}" for c in cells]), "T": [f"T_{c}" for c in cells],
              "kappa": ["kappa"]}
    rules = [Constraint(new, c.test, new + c.message[len(c.name):]) for c in MultiCellBattery.constraints
             if c.name in groups and not c.reads and c.message.startswith(c.name) for new in groups[c.name]]
    lams = given(["lam"] + [name for _, _, name in _mc_pairs(cells)])
    rules += [finite(k) for k in lams]
    names = [k for g in groups.values() for k in g] + lams
    enforce(_options(v, names), rules, traced=False)


MULTI_CELL = dict(
    name="multi-cell", parameters=_MC_PARAMETERS, static=("n_cells", "steady", "secular_tol"),
    defaults=_MC_DEFAULTS,
    doc="steady-state ergotropy, energy, heat currents J_<cell> and populations p_<basis state> (scalars; "
        "NaN where the steady state is not unique)",
    build=_mc_build, features=lambda m, v: m.features(degenerate="nan"), check_static=_mc_static,
    check=_mc_check, unused=lambda v: ("T_M", "omega_M", "lam_LM", "lam_MR") if v["n_cells"] == 2 else ())


# ---------------------------------------------------------------------------------------------
# Tavis-Cummings battery (paper 003): final ergotropy, BLP measure, optionally the ergotropy curve
# ---------------------------------------------------------------------------------------------

_TC_FIELDS = {f.name: f.default for f in dataclasses.fields(TavisCummingsBattery)}
_TC_PARAMETERS = _tc._FLOAT_FIELDS
_TC_STATIC = ("n_qubits", "n_cavity", "environment", "conventions", "on_truncation", "t1", "n_times", "curve")
_TC_DEFAULTS = {**_options(_TC_FIELDS, _TC_PARAMETERS + _TC_STATIC[1:5]), "n_qubits": 1, "t1": 20.0,
                "n_times": 150, "curve": False}


def _tc_build(v):
    return TavisCummingsBattery(as_int(v["n_qubits"], "n_qubits", minimum=1), **_options(v, _TC_PARAMETERS),
                                n_cavity=as_int(v["n_cavity"], "n_cavity", minimum=2),
                                **_options(v, ("environment", "conventions", "on_truncation")))


def _tc_features(m, v):
    return m.features(_positive_number(v["t1"], "t1"), as_int(v["n_times"], "n_times", minimum=3),
                      curve=_flag(v["curve"], "curve"))


def _tc_static(v):
    _positive_number(v["t1"], "t1")
    as_int(v["n_times"], "n_times", minimum=3)
    _flag(v["curve"], "curve")


TAVIS_CUMMINGS = dict(
    name="tavis-cummings", parameters=_TC_PARAMETERS, static=_TC_STATIC, defaults=_TC_DEFAULTS,
    doc="at t1: ergotropy (physical), ergotropy_published, trace_distance; BLP measure blp_published, "
        "blp_variation (scalars); with curve = true also ergotropy_curve (n_times,) on linspace(0, t1, n_times)",
    build=_tc_build, features=_tc_features, check_static=_tc_static, check=_rule_checker(_tc_build))


# ---------------------------------------------------------------------------------------------
# micromaser (paper 002): a stream of n_collisions identical qubits (c, q) at coupling g
# ---------------------------------------------------------------------------------------------

_MM_DEFAULTS = {"c": 0.0, "q": 0.0, "g": math.pi / math.sqrt(15.6), "n_levels": 120, "n_collisions": 1000,
                "top_tol": 1e-8, "on_truncation": "raise"}


def _mm_build(v):
    return Micromaser(v["g"], n_levels=as_int(v["n_levels"], "n_levels", minimum=2),
                      top_tol=_positive_number(v["top_tol"], "top_tol"), on_truncation=v["on_truncation"],
                      c=v["c"], q=v["q"])


def _mm_static(v):
    as_int(v["n_collisions"], "n_collisions", minimum=1)


MICROMASER = dict(
    name="micromaser", parameters=("c", "q", "g"), static=("n_levels", "n_collisions", "top_tol", "on_truncation"),
    defaults=_MM_DEFAULTS,
    doc="after n_collisions qubits from the empty cavity: ergotropy W, energy, purity and top_population "
        "(largest top-Fock-level population over the stream) (scalars)",
    build=_mm_build, features=lambda m, v: m.features(as_int(v["n_collisions"], "n_collisions", minimum=1)),
    check_static=_mm_static, check=_rule_checker(_mm_build))


# ---------------------------------------------------------------------------------------------
# charger-battery pair: optimal charging times and peaks
# ---------------------------------------------------------------------------------------------

_CH_PARAMETERS = ("theta", "phi", "J", "omega_b", "gamma", "t_max")
_CH_DEFAULTS = {"theta": math.pi, "phi": 0.0, "J": 1.0, "omega_b": 1.0, "gamma": 0.0, "t_max": None,
                "n_grid": 2001}


def _ch_build(v):
    return ChargerBattery(**_options(v, _CH_PARAMETERS[:-1]))


def _ch_check(v):
    """The model's rules, and t_max: finite and > 0, or (None: pi / J) the model's rule J > 0."""
    _ch_build(v)
    if v["t_max"] is None:
        enforce({"J": v["J"]}, (_charger._DEFAULT_T_MAX,), traced=False)
    else:
        enforce({"t_max": v["t_max"]}, (positive("t_max", "time window"), finite("t_max")), traced=False)


CHARGER = dict(
    name="charger", parameters=_CH_PARAMETERS, static=("n_grid",), defaults=_CH_DEFAULTS,
    doc="optimal times and peaks on (0, t_max] (default t_max = pi / J) (scalars): t_E, E_max, t_erg, erg_max, "
        "t_P, P_max, t_Pe, Pe_max (ergotropic power)",
    build=_ch_build, features=lambda m, v: m.features(v["t_max"], as_int(v["n_grid"], "n_grid", minimum=2)),
    check_static=lambda v: as_int(v["n_grid"], "n_grid", minimum=2), check=_ch_check)

SPECS = (FOUR_LEVEL, MULTI_CELL, TAVIS_CUMMINGS, MICROMASER, CHARGER)
