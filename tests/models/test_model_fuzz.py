"""Fuzz of the five models' parameters: valid, invalid and edge-case values, eagerly, under ``jax.jit``
(every parameter traced) and under ``jax.vmap`` (a batch of one).  Each call must raise an error that
names the offending parameter, or return a finite value inside the physical bounds stated below; a
value outside them, NaN or inf is a silent wrong number.  ``-m slow`` (through
``tests/core/test_fuzz.py::test_fuzz_ten_thousand``) runs many more cases with
``QBJAX_FUZZ_MODEL_EXAMPLES``.

The validity rules are the papers' (written out here, not read from the models): temperatures and
rates of Lindblad baths, probabilities, the four-level ordering eps < eps_b < eps_a, finiteness.
"""

import json
import math
import os
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbjax.models import ChargerBattery, FourLevelBattery, Micromaser, TavisCummingsBattery
from qbjax.models.multi_cell import two_cell

FIELD = {"T_L": "T", "T_R": "T", "lam_LR": "coupling"}  # two_cell's arguments -> the model's fields
EDGE = [0.0, -0.5, 1.5, 1e-12, 1e6, math.nan, math.inf, -math.inf]
REFUSALS = ("max_steps", "not unique", "no unique steady state")


def _finite(p):
    return all(math.isfinite(v) for v in p.values())


def _charger(p):
    m = ChargerBattery(p["theta"], phi=p["phi"], J=p["J"], omega_b=p["omega_b"], gamma=p["gamma"])
    return m.ergotropy_curve(jnp.array([0.5, 1.0]))[..., -1]


def _charger_ok(p):
    return _finite(p) and p["J"] >= 0 and p["gamma"] >= 0


def _four_level(p):
    return FourLevelBattery(**p).steady_ergotropy()


def _four_level_ok(p):
    positive = all(p[k] > 0 for k in ("T_c", "T_h", "T_l", "r"))
    return (_finite(p) and positive and 0 <= p["p_c"] <= 1 and 0 <= p["p_h"] <= 1 and p["tau"] >= 0
            and p["g"] >= 0 and p["eps"] < p["eps_b"] < p["eps_a"])


def _multi_cell(p):
    return two_cell(p["T_L"], p["T_R"], p["lam_LR"], omega=p["omega"], kappa=p["kappa"]).steady_ergotropy()


def _multi_cell_ok(p):
    return _finite(p) and p["T_L"] >= 0 and p["T_R"] >= 0 and p["omega"] > 0 and p["kappa"] > 0


def _micromaser(p):
    return Micromaser(p["g"], n_levels=24).charge(p["c"], p["q"], 20)[1][-1]  # energy after 20 collisions


def _micromaser_ok(p):
    return _finite(p) and 0 <= p["c"] <= 1 and 0 <= p["q"] <= 1


def _tavis_cummings(p):
    m = TavisCummingsBattery(2, detuning=p["detuning"], gamma0=p["gamma0"], g=p["g"], omega_b=p["omega_b"],
                             n_cavity=3)
    return m.final_ergotropy(t1=1.0)


def _tavis_cummings_ok(p):
    return _finite(p) and p["gamma0"] >= 0


# model: (function of a dict of scalars, validity rule, a valid base point, bounds of the value)
MODELS = {
    "charger": (_charger, _charger_ok, dict(theta=2.0, phi=0.3, J=1.0, omega_b=1.0, gamma=0.1),
                lambda p: (0.0, abs(p["omega_b"]))),
    "four-level": (_four_level, _four_level_ok,
                   dict(T_c=0.5, T_h=4.0, T_l=1.0, p_c=0.7, p_h=0.6, tau=0.3, eps=0.3, eps_b=0.8, eps_a=2.3,
                        r=1.0, g=1.0),
                   lambda p: (0.0, p["eps_a"] - p["eps"])),
    "multi-cell": (_multi_cell, _multi_cell_ok, dict(T_L=2.0, T_R=0.1, lam_LR=0.3, omega=1.0, kappa=1.0),
                   lambda p: (0.0, 2 * p["omega"] + abs(p["lam_LR"]))),
    "micromaser": (_micromaser, _micromaser_ok, dict(g=1.0, c=0.5, q=0.3), lambda p: (0.0, 20.0)),
    "tavis-cummings": (_tavis_cummings, _tavis_cummings_ok,
                       dict(detuning=0.1, gamma0=0.05, g=0.1, omega_b=1.0), lambda p: (0.0, 2 * abs(p["omega_b"]))),
}
_COMPILED = {}


def _compiled(model, mode):
    """One compiled program per model and mode, every parameter traced (compiles once per run)."""
    key = (model, mode)
    if key not in _COMPILED:
        fn = MODELS[model][0]
        if mode == "jit":
            _COMPILED[key] = jax.jit(fn)
        else:
            _COMPILED[key] = jax.jit(lambda p: jax.vmap(fn)({k: v[None] for k, v in p.items()})[0])
    return _COMPILED[key]


COUNTS: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("QBJAX_FUZZ_REPORT")
    if path:
        table = {}
        for (fn, outcome), n in COUNTS.items():
            table.setdefault(fn, {})[outcome] = n
        with open(path + ".models.json", "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)


def _settings():
    n = int(os.environ.get("QBJAX_FUZZ_MODEL_EXAMPLES", 24))
    return settings(max_examples=n, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("model", [m if m in ("four-level", "micromaser") else pytest.param(m, marks=pytest.mark.slow)
                                   for m in sorted(MODELS)])
def test_fuzz_model_parameters(model):
    fn, ok, base, bounds = MODELS[model]

    @_settings()
    @given(name=st.sampled_from(sorted(base)), value=st.sampled_from(EDGE) | st.floats(-3, 3),
           mode=st.sampled_from(["eager", "jit", "vmap"]))
    def case(name, value, mode):
        p = {**base, name: float(value)}
        # A parameter of magnitude below the smallest normal float is ambiguous: XLA may flush it to
        # zero (of either sign) while NumPy and some XLA comparisons see its sign, and rates built from
        # it underflow.  Either reading is right: the validity of the value itself (a named refusal of
        # a negative one) or that of 0; what stays forbidden is a silent value out of bounds.
        subnormal = 0 < abs(p[name]) < np.finfo(float).tiny
        valid = ok({k: 0.0 if abs(v) < np.finfo(float).tiny else v for k, v in p.items()})
        if subnormal:
            valid = valid or ok(p)
        try:
            if mode == "eager":
                out = fn(p)
            else:
                out = _compiled(model, mode)({k: jnp.asarray(v) for k, v in p.items()})
            out = float(jax.block_until_ready(out))
        except Exception as err:  # noqa: BLE001 - the message is what is judged
            msg = str(err)
            if subnormal:
                assert FIELD.get(name, name) in msg or any(w in msg for w in REFUSALS), \
                    f"{model}: error for {name} = {value} [{mode}] names neither it nor a refusal: {msg[:300]}"
                COUNTS[(model, "subnormal refused (named)")] += 1
            elif valid:  # allowed refusals of valid input, each named: the solver's step budget (an
                # extreme coupling), or a steady state that is not unique (a level crossing)
                assert any(w in msg for w in REFUSALS), f"{model}: valid {p} rejected [{mode}]: {msg[:300]}"
                COUNTS[(model, "refused (named)")] += 1
            else:
                assert FIELD.get(name, name) in msg, \
                    f"{model}: error for {name} = {value} [{mode}] does not name it: {msg[:300]}"
                COUNTS[(model, "raised")] += 1
            return
        assert valid, f"{model}: invalid {name} = {value} accepted [{mode}], returned {out}"
        lo, hi = bounds(p)
        assert math.isfinite(out) and lo - 1e-9 <= out <= hi + 1e-9, f"{model}: {p} [{mode}] gave {out}"
        COUNTS[(model, "in bounds")] += 1

    case()
