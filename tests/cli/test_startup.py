"""Fast first contact and compile-once: ``import qbjax`` and ``qbjax --help`` load no JAX, 64-bit mode
still holds once JAX is loaded, the CLI's persistent compilation cache, and a sweep step whose
compiled program carries no host callback (so that the cache can store it)."""

import os
import subprocess
import sys

import pytest


def _python(code, **env):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_import_and_help_load_no_jax():
    out = _python("import sys, qbjax; from qbjax.cli import build_parser; build_parser(); "
                  "print(sorted(m for m in ('jax', 'equinox', 'diffrax', 'optax') if m in sys.modules))")
    assert out == "[]"


def test_precision_after_lazy_import():
    code = "import qbjax, jax, jax.numpy as jnp; print(jnp.zeros(1).dtype, qbjax.get_precision())"
    assert _python(code) == "float64 double"
    assert _python(code, QBJAX_PRECISION="single") == "float32 single"
    # JAX imported first: qbjax switches the running configuration instead
    assert _python("import jax, qbjax, jax.numpy as jnp; print(jnp.zeros(1).dtype)") == "float64"


def test_public_names_resolve_lazily():
    import qbjax as qb

    for name in qb.__all__:
        assert getattr(qb, name) is not None, name
    assert set(qb.__all__) <= set(dir(qb))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        qb.no_such_name  # noqa: B018


def test_compilation_cache_switch(tmp_path):
    """Checked in a fresh process, so that this test process's JAX configuration is never touched."""
    code = ("import jax; from qbjax._cache import cache_dir, enable_compilation_cache; "
            "print(cache_dir(), enable_compilation_cache(), jax.config.jax_compilation_cache_dir)")
    assert _python(code, QBJAX_CACHE="0") == "None None None"
    path = str(tmp_path / "c")
    out = _python(code, QBJAX_CACHE="1", QBJAX_CACHE_DIR=path)
    assert out == f"{path} {path} {path}"
    assert (tmp_path / "c").is_dir()


@pytest.mark.parametrize("conventions", ["physical", "published"])
def test_sweep_step_has_no_host_callback(conventions):
    import jax
    import numpy as np

    from qbjax.sweep.grid import AXES
    from qbjax.sweep.runner import make_step, sweep_devices

    fn, batch, replicated = make_step(conventions, sweep_devices())
    axes = {k: jax.device_put(np.zeros((3,) if k != "triplet" else (3, 3)), replicated) for k in AXES}
    ids = jax.device_put(np.zeros(64, dtype=np.int64), batch)
    assert "callback" not in fn.func.lower(*fn.args, axes, ids).as_text()


def test_cli_defaults_match_the_models():
    from qbjax.models.four_level import CONVENTIONS
    from qbjax.optimize import defaults

    assert defaults.CONVENTIONS == CONVENTIONS


def test_heartbeat_speaks_only_after_silence(capsys):
    import time

    from qbjax._runs import heartbeat

    with heartbeat("demo", every=1.0):
        time.sleep(2.6)  # silent: two lines
        print("a step")
        time.sleep(0.5)  # not silent for long: none
    out = capsys.readouterr().out.splitlines()
    beats = [line for line in out if "demo: still running" in line]
    assert 1 <= len(beats) <= 3 and out[-1] == "a step"  # about two; the timer thread may wake late
