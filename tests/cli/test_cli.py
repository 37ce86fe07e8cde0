"""The command line and the README/CI contract."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qbjax.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_info_prints_precision_devices_versions(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "precision: double" in out
    assert "devices:" in out and "cpu" in out.lower()
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["precision"] == "double" and data["versions"]["jax"]


@pytest.mark.slow
def test_reproduce_charger_writes_report_figures_manifest(tmp_path):
    out = tmp_path / "charger"
    assert main(["reproduce", "charger", "--quick", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    # every paper constant and the formula checks are in the report, and none differs
    for name in ["A", "B", "C", "D", "K", "L"]:
        assert re.search(rf"^\| {name} \| ", report, re.M), name
    assert "Eq. (38) ergotropy" in report and "Eq. (69) ergotropy" in report
    assert "DIFFERS" not in report
    assert sorted(p.name for p in out.glob("*.png")) == [
        "fig2_energetics.png", "fig3_thermodynamics.png", "fig4_mechanisms.png", "fig_dissipation.png"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "reproduce charger" and manifest["precision"] == "double"
    assert manifest["timings_s"]["charger"] > 0


def test_unknown_model_is_rejected():
    with pytest.raises(SystemExit):
        main(["reproduce", "no-such-model"])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(pip install .*?)\s+#", readme, re.M)
    assert len(commands) >= 2, "the README must open with the main-job and test commands"
    test_command = [c for c in commands if "pytest" in c][0].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "qbjax", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "reproduce" in result.stdout


def _readme_blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.slow
def test_readme_example_runs():
    """The README's 'first look' example; its current against the steady state it printed."""
    code = [b for b in _readme_blocks() if "rho_ss" in b][0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    import numpy as np

    # the example's counting statistics: mean emission current = decay rate x excited population
    rho = np.asarray(namespace["rho_ss"])
    assert abs(float(namespace["j"][0]) - 0.1 * rho[1, 1].real) < 1e-10


@pytest.mark.slow
def test_readme_differentiable_ergotropy_example():
    """The README's ten-line Optax loop, checked against QuTiP's steady state and a NumPy ergotropy."""
    qutip = pytest.importorskip("qutip")
    import numpy as np

    code = [b for b in _readme_blocks() if "ergotropy_ss" in b][0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)

    def reference(drive):  # independent: qutip.steadystate + ergotropy from sorted eigenvalues
        H0 = np.diag([0.0, 1.0])
        sm = np.array([[0.0, 1.0], [0.0, 0.0]])
        rho = qutip.steadystate(qutip.Qobj(H0 + drive * (sm + sm.T)), [np.sqrt(0.1) * qutip.Qobj(sm)]).full()
        r = np.sort(np.linalg.eigvalsh(rho))[::-1]
        return float(np.real(np.trace(rho @ H0)) - r @ np.array([0.0, 1.0]))

    x = float(namespace["x"])
    assert abs(float(namespace["ergotropy_ss"](x)) - reference(x)) < 1e-8
    best_on_grid = max(reference(d) for d in np.linspace(0.0, 3.0, 61))
    assert reference(x) >= best_on_grid - 1e-9  # the gradient ascent found the maximum


@pytest.mark.slow  # ~18 s; a user's own Lindblad battery runs by default in tests/models/test_protocol.py
def test_readme_own_battery_example():
    """The README's user-defined Lindblad battery: steady ergotropies against QuTiP + NumPy, the
    batched curve's shape, and the gradient against a central finite difference."""
    qutip = pytest.importorskip("qutip")
    import numpy as np

    code = [b for b in _readme_blocks() if "class DrivenQubit" in b][0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    m = namespace["m"]
    sm = np.array([[0.0, 1.0], [0.0, 0.0]])
    for drive, got in zip(np.linspace(0.1, 1.0, 4), np.asarray(m.steady_ergotropy())):
        H = qutip.Qobj(np.diag([0.0, 1.0]) + drive * (sm + sm.T))
        rho = qutip.steadystate(H, [np.sqrt(0.2) * qutip.Qobj(sm)]).full()
        r = np.sort(np.linalg.eigvalsh(rho))[::-1]
        assert abs(got - (rho[1, 1].real - r @ np.array([0.0, 1.0]))) < 1e-9
    assert m.ergotropy_curve(np.linspace(0.0, 10.0, 50)).shape == (4, 50)
    f = lambda d: float(namespace["DrivenQubit"](1.0, d, 0.2).steady_ergotropy())  # noqa: E731
    g = namespace["jax"].grad(lambda d: namespace["DrivenQubit"](1.0, d, 0.2).steady_ergotropy())(0.4)
    assert abs(float(g) - (f(0.4 + 1e-5) - f(0.4 - 1e-5)) / 2e-5) < 1e-7
