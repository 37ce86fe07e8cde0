"""The built-in models as sweep functions (qbjax.sweep.models).

For every model: ``jax.jit(jax.vmap(fn))`` over a few configurations, traced under
``qb.set_validation(False)``, equals the model built directly from the same scalars with its
``features()`` evaluated one configuration at a time (no vmap); its lowered program has no host
callback; the output shapes are those of ``jax.eval_shape``; ``validate`` names the parameter of an
invalid value; unknown names and static options given as grid axes are refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb
from qbjax.models import ChargerBattery, FourLevelBattery, Micromaser, TavisCummingsBattery
from qbjax.models.multi_cell import three_cell, two_cell
from qbjax.sweep.models import MODELS, sweep_model

ROOT = Path(__file__).resolve().parents[2]
FL_FIXED = {"T_c": 0.1, "T_l": 1.0, "p_h": 0.9, "tau": 0.95, "eps": 0.1, "eps_b": 0.4, "eps_a": 1.5, "r": 1.0,
            "g": 0.8}
TC_FIXED = {"n_qubits": 2, "n_cavity": 3, "t1": 4.0, "n_times": 12, "curve": True, "g": 0.3}

# name -> (model, fixed, grid columns, the direct path: one configuration's features, rtol (1e-12, or
# {output prefix: rtol} where looser))
CASES = {
    "four-level": ("four-level", FL_FIXED, {"T_h": [2.0, 4.0, 6.36, 7.0], "p_c": [0.1, 0.5, 0.97, 1.0]},
                   lambda row: FourLevelBattery(**FL_FIXED, **row).features(), 1e-12),
    "multi-cell-3": ("multi-cell", {"n_cells": 3, "lam": 0.1, "T_M": 0.5},
                     {"T_L": [0.5, 1.0, 2.0, 0.0], "T_R": [0.0, 0.3, 1.5, 0.7]},
                     lambda row: three_cell(row["T_L"], 0.5, row["T_R"], 0.1).features(), 1e-12),
    "multi-cell-2": ("multi-cell", {"n_cells": 2, "omega": 1.2, "kappa": 0.5},
                     {"T_L": [0.4, 1.0, 2.0], "lam_LR": [0.3, 1.5, -0.7]},
                     lambda row: two_cell(row["T_L"], 0.1, row["lam_LR"], omega=1.2, kappa=0.5).features(), 1e-12),
    "tavis-cummings": ("tavis-cummings", TC_FIXED, {"detuning": [0.0, 0.5, 2.0], "gamma0": [0.05, 0.2, 0.1]},
                       lambda row: TavisCummingsBattery(2, g=0.3, n_cavity=3, **row).features(4.0, 12, curve=True),
                       1e-6),
    "micromaser": ("micromaser", {"n_levels": 14, "n_collisions": 12},
                   {"c": [0.0, 0.5, 1.0, 0.3], "q": [0.1, 0.2, 0.0, 0.9], "g": [0.5, 0.7, 0.8, 1.3]},
                   lambda row: Micromaser(row["g"], n_levels=14, c=row["c"], q=row["q"]).features(12), 1e-12),
    "charger": ("charger", {"n_grid": 61, "phi": 0.3},
                {"theta": [1.0, 2.0, np.pi], "gamma": [0.0, 0.1, 0.4], "J": [0.5, 1.0, 2.0]},
                lambda row: ChargerBattery(row["theta"], phi=0.3, J=row["J"], gamma=row["gamma"]).features(n_grid=61),
                {"t_": 1e-7}),  # the times of the maxima: the argmax of a smooth peak is set to ~sqrt(eps) only
}


def _rows(grid):
    n = len(next(iter(grid.values())))
    return [{k: float(v[i]) for k, v in grid.items()} for i in range(n)]


def test_the_five_models_by_name():
    assert set(MODELS) == {"four-level", "multi-cell", "tavis-cummings", "micromaser", "charger"}
    for name, m in MODELS.items():
        assert sweep_model(name) is m and m.name == name
        assert not set(m.parameters) & set(m.static)
        assert set(m.defaults) == set(m.parameters) | set(m.static)
        assert m.doc and "\n" not in m.doc
    with pytest.raises(ValueError, match="unknown model 'nope'.*four-level, multi-cell, tavis-cummings"):
        sweep_model("nope")


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in ("charger", "multi-cell-3", "tavis-cummings") else c
                                  for c in sorted(CASES)])
def test_vmapped_function_equals_the_model_built_directly(case):
    name, fixed, grid, direct, rtol = CASES[case]
    m = sweep_model(name)
    grid = {k: np.asarray(v, dtype=float) for k, v in grid.items()}
    m.validate(grid, fixed)
    fn = m.function(fixed)
    batch = {k: jnp.asarray(v) for k, v in grid.items()}
    with qb.set_validation(False):
        lowered = jax.jit(jax.vmap(fn)).lower(batch)
        text = lowered.as_text()
        out = {k: np.asarray(v) for k, v in lowered.compile()(batch).items()}
    if name != "tavis-cummings":  # diffrax's own save-time check: see the subprocess test below
        assert "callback" not in text
    shapes = m.outputs(fixed, list(grid))
    n = len(_rows(grid))
    assert {k: (n,) + s.shape for k, s in shapes.items()} == {k: v.shape for k, v in out.items()}
    assert all(v.dtype == np.float64 for v in out.values())
    rows = [{k: np.asarray(v) for k, v in direct(row).items()} for row in _rows(grid)]
    assert set(rows[0]) == set(out)
    for key, value in out.items():
        ref = np.stack([r[key] for r in rows])
        tol = rtol if isinstance(rtol, float) else next((v for k, v in rtol.items() if key.startswith(k)), 1e-12)
        assert np.all(np.isfinite(ref)), key
        scale = max(1.0, float(np.max(np.abs(ref))))
        np.testing.assert_allclose(value, ref, rtol=tol, atol=tol * 1e-2 * scale, err_msg=f"{case}: {key}")
    assert np.ptp(out[next(k for k in out if k in ("E", "ergotropy", "W", "E_max"))]) > 0  # the grid matters


def test_multi_cell_points_without_a_unique_steady_state_give_nan_rows():
    # two cells at lam_LR = omega: a level crossing (qbjax.models.multi_cell); the sweep gets NaN there
    fn = sweep_model("multi-cell").function({"n_cells": 2, "omega": 1.2, "kappa": 0.5})
    with qb.set_validation(False):
        out = jax.jit(jax.vmap(fn))({"T_L": jnp.array([0.4, 1.0]), "lam_LR": jnp.array([0.3, 1.2])})
    erg = np.asarray(out["ergotropy"])
    assert np.isfinite(erg[0]) and np.isnan(erg[1]) and np.isnan(np.asarray(out["p_uu"])[1])
    ref = two_cell(0.4, 0.1, 0.3, omega=1.2, kappa=0.5).features()["ergotropy"]
    np.testing.assert_allclose(erg[0], ref, rtol=1e-12)


def test_the_outputs_named_in_the_brief():
    tc = sweep_model("tavis-cummings").outputs(TC_FIXED, ["detuning"])
    assert tc["ergotropy_curve"].shape == (12,) and tc["blp_variation"].shape == () and "blp_published" in tc
    assert "ergotropy_curve" not in sweep_model("tavis-cummings").outputs({**TC_FIXED, "curve": False})
    mm = sweep_model("micromaser").outputs({"n_levels": 6, "n_collisions": 3}, ["c", "q", "g"])
    assert {"W", "purity", "top_population"} <= set(mm)
    ch = sweep_model("charger").outputs({"n_grid": 11}, ["theta", "gamma", "J"])
    assert {"t_E", "E_max", "P_max", "t_Pe", "Pe_max"} <= set(ch)
    mc = sweep_model("multi-cell").outputs({"n_cells": 3, "lam": 0.1}, ["T_L", "T_R"])
    assert {"ergotropy", "energy", "J_L", "J_M", "J_R", "p_uuu", "p_ddd"} <= set(mc)
    # other axes trace too, with the same scalar outputs
    assert sweep_model("charger").outputs({"n_grid": 11}, ["t_max", "omega_b"]) == ch
    assert sweep_model("multi-cell").outputs({"n_cells": 3}, ["omega_L", "lam_MR", "kappa", "T_M"]) == mc
    tc_b = sweep_model("tavis-cummings").outputs({**TC_FIXED, "environment": "B"}, ["n0", "Omega", "gamma_phi"])
    assert tc_b == sweep_model("tavis-cummings").outputs(TC_FIXED, ["detuning"])


INVALID = {
    "four-level": ({"p_c": [0.2, 1.5]}, r"p_c must lie in \[0, 1\]; got p_c = 1.5"),
    "multi-cell": ({"T_L": [1.0, 2.0], "T_R": [0.1, -0.5]}, r"T_R must be >= 0; got T_R = -0.5"),
    "tavis-cummings": ({"gamma0": [0.05, -0.1]}, r"gamma0 \(.*\) must be >= 0; got gamma0 = -0.1"),
    "micromaser": ({"q": [0.5, 1.2], "c": [0.1, 0.2]}, r"q \(.*\) must lie in \[0, 1\]; got q = 1.2"),
    "charger": ({"J": [1.0, -1.0], "theta": [1.0, 2.0]}, r"J \(.*\) must be >= 0; got J = -1.0"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_validate_names_the_parameter(name):
    grid, message = INVALID[name]
    m = sweep_model(name)
    with qb.set_validation(False):  # validate checks whatever the switch says
        with pytest.raises(ValueError, match=message):
            m.validate({k: np.asarray(v) for k, v in grid.items()}, {})
    good = {k: np.asarray(v[:1]) for k, v in grid.items()}
    assert m.validate(good, {}) is None


def test_validate_checks_fixed_values_rules_across_columns_and_defaults():
    fl = sweep_model("four-level")
    with pytest.raises(ValueError, match="eps_b must be > eps"):  # a fixed value against a grid column
        fl.validate({"eps": np.array([0.1, 0.5])}, {"eps_b": 0.4})
    with pytest.raises(ValueError, match="T_M must be >= 0; got T_M = -1.0"):
        sweep_model("multi-cell").validate({"T_L": np.array([1.0])}, {"n_cells": 3, "T_M": -1.0})
    with pytest.raises(ValueError, match="omega_R must be > 0"):
        sweep_model("multi-cell").validate({"omega_R": np.array([1.0, 0.0])}, {"n_cells": 2})
    with pytest.raises(ValueError, match="J must be > 0 for the default t_max"):
        sweep_model("charger").validate({"J": np.array([0.0, 1.0])}, {})
    sweep_model("charger").validate({"J": np.array([0.0, 1.0])}, {"t_max": 3.0})  # J = 0 with a window is fine
    with pytest.raises(ValueError, match="one entry per configuration"):
        fl.validate({"T_h": np.array([1.0, 2.0]), "T_c": np.array([1.0])}, {})
    with pytest.raises(ValueError, match="p_c contains NaN"):
        fl.validate({"p_c": np.array([0.5, np.nan])}, {})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unknown_names_and_static_axes_are_refused(name):
    m = sweep_model(name)
    with pytest.raises(ValueError, match=r"unknown parameter 'bogus' in fixed; the parameters of .* are "
                       + ", ".join(m.parameters[:2])):
        m.function({"bogus": 1.0})
    fn = m.function({})
    with pytest.raises(ValueError, match="unknown parameter 'bogus' in the configuration"):
        fn({"bogus": jnp.asarray(1.0)})
    with pytest.raises(ValueError, match="unknown parameter 'bogus' in the grid"):
        m.validate({"bogus": np.array([1.0])}, {})
    static = m.static[0]
    with pytest.raises(ValueError, match=f"{static} must be fixed"):
        fn({static: jnp.asarray(2.0)})
    with pytest.raises(ValueError, match=f"{static} must be fixed"):
        m.validate({static: np.array([1.0, 2.0])}, {})
    with pytest.raises(ValueError, match=f"{static} must be fixed"):
        jax.vmap(fn)({m.parameters[0]: jnp.ones(2), static: jnp.ones(2)})


def test_static_options_are_checked_when_the_function_is_built():
    with pytest.raises(ValueError, match="n_cells must be 2 or 3"):
        sweep_model("multi-cell").function({"n_cells": 4})
    with pytest.raises(ValueError, match="T_M does not apply to 'multi-cell' with n_cells = 2"):
        sweep_model("multi-cell").function({"n_cells": 2, "T_M": 0.3})
    with pytest.raises(ValueError, match="n_cavity"):  # the model's truncation rule: N + 1 Fock states
        sweep_model("tavis-cummings").function({"n_qubits": 3, "n_cavity": 3})
    with pytest.raises(ValueError, match="n_collisions must be >= 1"):
        sweep_model("micromaser").function({"n_collisions": 0})
    with pytest.raises(ValueError, match="curve must be true or false"):
        sweep_model("tavis-cummings").function({"curve": "yes"})
    with pytest.raises(ValueError, match="conventions must be one of"):
        sweep_model("four-level").function({"conventions": "printed"})


def test_tavis_cummings_program_has_no_callback_with_equinox_checks_off():
    """diffrax checks its save times with ``eqx.error_if`` (a host callback whenever they are traced,
    which they always are inside its jit); equinox switches those off with EQX_ON_ERROR=off, read at
    import: then the program carries none (qbjax's own checks are off by ``set_validation(False)``)."""
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp
        import qbjax as qb
        from qbjax.sweep.models import sweep_model
        fn = sweep_model("tavis-cummings").function({"n_qubits": 1, "n_cavity": 2, "n_times": 5, "curve": True})
        with qb.set_validation(False):
            text = jax.jit(jax.vmap(fn)).lower({"detuning": jnp.zeros(2), "gamma0": jnp.ones(2)}).as_text()
        print("callbacks", text.count("callback"))
    """)
    env = {**os.environ, "EQX_ON_ERROR": "off", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "callbacks 0" in res.stdout
