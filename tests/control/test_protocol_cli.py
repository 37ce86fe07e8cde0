"""``qbjax optimize charger`` and ``qbjax optimize tavis-cummings`` end to end.

Each command runs once per module (few segments and steps, the smallest Tavis-Cummings truncation
N = 1, n_cavity = 2, a short t1), in-process; the tests read what it wrote and recompute the numbers
independently with :func:`qbjax.control.protocol_value` and with the models' own evolutions.

Charger with the charger excited (theta = pi, gamma = 0): the state at t1 depends on the pulse area
A = int J dt only, E(t1) = omega_b sin^2(A); with 0 <= J <= J_MAX and J_MAX t1 < pi/2 the optimum is
J = J_MAX throughout (bang-bang on the upper bound), E = omega_b sin^2(J_MAX t1), which is also the
best static value: the time dependence gains nothing there.
"""

import contextlib
import io
import json
import re

import numpy as np
import pytest

from qbjax.cli import main
from qbjax.control import OBJECTIVES, PiecewiseConstant, protocol_value
from qbjax.models.charger_battery import ChargerBattery
from qbjax.models.tavis_cummings import TavisCummingsBattery
from qbjax.optimize.defaults import PROTOCOL_OBJECTIVES

REQUIRED = ("objective_value", "controls", "t1", "segments", "wall_s", "n_steps")
J_MAX, T1_CHARGER, OMEGA_B = 1.0, 1.2, 1.3
T1_TC, N_CAVITY = 5.0, 2
SEGMENTS = 3


def _run(argv):
    """``qbjax ARGV`` in-process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code
    return code, err.getvalue()


@pytest.fixture(scope="module")
def charger_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("charger")
    code, err = _run(["optimize", "charger", "--segments", str(SEGMENTS), "--bounds", "0", str(J_MAX),
                      "--t1", str(T1_CHARGER), "--objective", "energy", "--omega-b", str(OMEGA_B),
                      "--starts", "1", "--steps", "30", "--static-points", "11", "--out", str(out)])
    assert code == 0, err
    return out, json.loads((out / "result.json").read_text()), err


@pytest.fixture(scope="module")
def tc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tc")
    code, err = _run(["optimize", "tavis-cummings", "--n-qubits", "1", "--n-cavity", str(N_CAVITY),
                      "--environment", "A", "--segments", str(SEGMENTS), "--bounds", "0", "1", "--t1", str(T1_TC),
                      "--objective", "ergotropy", "--starts", "1", "--steps", "10", "--static-points", "11",
                      "--out", str(out)])
    assert code == 0, err
    return out, json.loads((out / "result.json").read_text()), err


def excited_charger(values):
    return ChargerBattery(theta=np.pi, J=values["J"], omega_b=OMEGA_B)


def tc_battery(values):
    return TavisCummingsBattery(1, detuning=values["detuning"], n_cavity=N_CAVITY, environment="A")


def _rebuilt(result):
    """The optimised control from result.json alone (segment values, clipped onto the bounds)."""
    lo, hi = result["bounds"]
    return PiecewiseConstant(np.clip(result["controls"][0], lo, hi), result["t1"], bounds=(lo, hi))


def _check_outputs(out, result, err, n_segments):
    for key in REQUIRED:
        assert key in result, key
    assert len(result["controls"]) == 1 and len(result["controls"][0]) == n_segments
    assert result["segments"] == n_segments and result["n_steps"] > 0 and result["wall_s"] > 0
    for name in ("protocol.png", "report.md", "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "protocol.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[optimize]" in err  # progress on stderr


def _report_value(report, quantity):
    m = re.search(rf"^\| {re.escape(quantity)} \| ([^|]+) \|", report, flags=re.M)
    assert m, quantity
    return float(m.group(1))


def _check_report(out, result, name):
    report = (out / "report.md").read_text()
    pairs = {"optimised objective": result["objective_value"], "best static objective": result["static"]["best_value"],
             f"best static {name}": result["static"]["best_parameter"], "gain (optimised - static)": result["gain"],
             "gain tolerance": result["gain_tolerance"]}
    for quantity, value in pairs.items():  # the report prints 10 significant digits
        assert _report_value(report, quantity) == pytest.approx(value, rel=1e-9, abs=1e-300), quantity
    assert result["gain"] == pytest.approx(result["objective_value"] - result["static"]["best_value"], abs=1e-15)
    return report


def test_objectives_match_the_library():
    assert PROTOCOL_OBJECTIVES == OBJECTIVES


def test_charger_writes_result_figure_report(charger_run):
    out, result, err = charger_run
    _check_outputs(out, result, err, SEGMENTS)
    assert result["t1"] == T1_CHARGER and result["bounds"] == [0.0, J_MAX]
    value = float(protocol_value(excited_charger, {"J": _rebuilt(result)}, "energy", T1_CHARGER))
    assert value == pytest.approx(result["objective_value"], rel=1e-9)


def test_charger_bang_bang_reaches_the_closed_form(charger_run):
    """Through the CLI, from the middle of the bounds: E = omega_b sin^2(J_MAX t1) to 1e-6 relative,
    every segment on the upper bound, and the static scan's best (J = J_MAX) equal to it."""
    out, result, _ = charger_run
    exact = OMEGA_B * np.sin(J_MAX * T1_CHARGER) ** 2
    assert result["objective_value"] == pytest.approx(exact, rel=1e-6)
    np.testing.assert_allclose(result["controls"][0], J_MAX, rtol=0, atol=1e-6)
    assert result["static"]["best_parameter"] == J_MAX
    assert result["static"]["best_value"] == pytest.approx(exact, rel=1e-8)
    assert result["verdict"] == "none"  # the time dependence gains nothing here
    report = _check_report(out, result, "J")
    assert "gains nothing" in report


@pytest.mark.slow
def test_tavis_cummings_writes_result_figure_report(tc_run):
    out, result, err = tc_run
    _check_outputs(out, result, err, SEGMENTS)
    value = float(protocol_value(tc_battery, {"detuning": _rebuilt(result)}, "ergotropy", T1_TC))
    assert value == pytest.approx(result["objective_value"], rel=1e-9)
    assert result["objective_value"] >= max(v for v in result["history_best_over_starts"]) - 1e-12
    _check_report(out, result, "detuning")


@pytest.mark.slow
def test_constant_detuning_reproduces_the_model(tc_run):
    """A constant detuning control (and the static scan's best value) against the model's own
    ergotropy_curve at t1 (a different solver path: the excitation-sector ODE), to 1e-6 relative."""
    _, result, _ = tc_run
    d = result["static"]["best_parameter"]
    reference = float(TavisCummingsBattery(1, detuning=d, n_cavity=N_CAVITY).ergotropy_curve(np.array([0.0, T1_TC]))[-1])
    control = PiecewiseConstant(d, T1_TC, n=SEGMENTS, bounds=(0.0, 1.0))
    assert float(protocol_value(tc_battery, {"detuning": control}, "ergotropy", T1_TC)) == \
        pytest.approx(reference, rel=1e-6)
    assert result["static"]["best_value"] == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize("target, argv, option", [
    ("charger", ["--bounds", "1", "1"], "--bounds"),
    ("charger", ["--bounds", "2", "0.5"], "--bounds"),
    ("charger", ["--t1", "0"], "--t1"),
    ("charger", ["--t1", "-1"], "--t1"),
    ("charger", ["--control", "drive"], "--control"),
    ("charger", ["--objective", "stored-ergotropy"], "--t-store"),
    ("tavis-cummings", ["--bounds", "0.5", "0.5"], "--bounds"),
    ("tavis-cummings", ["--t1", "0"], "--t1"),
    ("tavis-cummings", ["--control", "J"], "--control"),
    ("tavis-cummings", ["--n-qubits", "2", "--n-cavity", "2"], "--n-cavity"),
])
def test_bad_options_exit_2_naming_the_option(tmp_path, monkeypatch, target, argv, option):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QBJAX_DEBUG", raising=False)
    code, err = _run(["optimize", target] + argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"qbjax optimize {target}: error: ") and option in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing written
