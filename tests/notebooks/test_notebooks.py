"""Execute every ``notebooks/*.ipynb`` top to bottom (nbclient, one test per notebook).

Each notebook runs in a ``python3`` Jupyter kernel started with this interpreter (``sys.executable``):
the tests put a ``python3`` kernelspec whose command is ``sys.executable -m ipykernel_launcher`` first
on ``JUPYTER_PATH``, so a user-level kernelspec pointing to another Python cannot be picked up, and the
repository root first on ``PYTHONPATH``, so that the kernel imports this checkout's ``qbjax``.  A cell
error or a cell running longer than 300 s fails the test.  The notebooks are executed in memory; their
stored outputs are not rewritten (regenerate them with ``python notebooks/_build.py --execute``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TIMEOUT_S = 300
KERNEL = "python3"


def _prepend(var: str, path: str, monkeypatch) -> None:
    old = os.environ.get(var)
    monkeypatch.setenv(var, path + (os.pathsep + old if old else ""))


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernelspec bound to ``sys.executable`` and this checkout on ``PYTHONPATH``."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }))
    _prepend("JUPYTER_PATH", str(tmp_path / "jupyter"), monkeypatch)
    _prepend("PYTHONPATH", str(ROOT), monkeypatch)


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


def test_python3_kernel_is_installed():
    """``pip install -e ".[all]"`` (ipykernel) provides the kernel the notebooks name."""
    from jupyter_client.kernelspec import KernelSpecManager

    assert KERNEL in KernelSpecManager().find_kernel_specs()
    for path in NOTEBOOKS:
        assert nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] == KERNEL, path.name


def test_kernel_uses_this_interpreter(kernel_env):
    from jupyter_client import KernelManager

    cmd = KernelManager(kernel_name=KERNEL).format_kernel_cmd()
    assert os.path.realpath(cmd[0]) == os.path.realpath(sys.executable), cmd


#: the notebooks that take longest (35-90 s each on 2 cores) run with -m slow, to keep the default run
#: inside CI's time; every other notebook runs by default
SLOW_NOTEBOOKS = {"charger_battery", "differentiable_ergotropy", "micromaser", "multi_cell", "protocol_optimisation",
                  "four_level", "sweep_your_battery"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW_NOTEBOOKS else p
                                  for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name=KERNEL,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError (naming the cell, with its traceback) on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
