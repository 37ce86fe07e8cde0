"""The documentation site builds in strict mode: ``mkdocs build --strict`` (every page, every
docstring the API reference renders, every internal link; ``docs/hooks.py`` fails the build for a
public function or model method without a docstring)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("mkdocs") is None and not (Path(sys.prefix) / "bin" / "mkdocs").exists(),
                    reason="the docs extra is not installed (pip install -e '.[docs]')")
def test_docs_build_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "api" / "index.html").exists() and (site / "models" / "four_level" / "index.html").exists()
    api = (site / "api" / "index.html").read_text()
    assert "Ergotropy W = Tr(rho H) - E_p" in api  # a docstring rendered from the code
    assert (site / "notebooks" / "four_level" / "index.html").exists()  # a notebook rendered
