"""Grid files (``qbjax sweep --grid GRID.toml``): parsing, errors naming the key, and the
``--function`` route of the command line for a battery that is not one of qbjax's models."""

import json
import textwrap

import numpy as np
import pytest
import user_battery

import qbjax as qb
from qbjax.cli import main
from qbjax.sweep.columns import column_array
from qbjax.sweep.gridfile import MODEL_NAMES, read_grid_file


def _write(tmp_path, text, name="grid.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_product_file_is_the_product_grid(tmp_path):
    path = _write(tmp_path, """
        model = "multi-cell"
        [fixed]
        n_cells = 3
        lam = 0.1
        [axes]
        T_L = {start = 0.0, stop = 2.0, num = 5}
        T_R = [0.5, 1.0]
    """)
    gf = read_grid_file(path)
    assert (gf.model, gf.function) == ("multi-cell", None)
    want = qb.grid.product(T_L=np.linspace(0.0, 2.0, 5), T_R=[0.5, 1.0]).fix(n_cells=3, lam=0.1)
    assert gf.grid.fingerprint == want.fingerprint and len(gf.grid) == 10


def test_sample_file_is_the_sample_grid(tmp_path):
    path = _write(tmp_path, """
        function = "user_battery:features"
        [sample]
        kind = "latin"
        n = 12
        seed = 4
        [ranges]
        T = [0.1, 2.0]
        omega = [0.5, 1.5]
    """)
    gf = read_grid_file(path)
    assert gf.function == "user_battery:features"
    assert gf.grid.fingerprint == qb.grid.sample(12, "latin", 4, T=(0.1, 2.0), omega=(0.5, 1.5)).fingerprint


@pytest.mark.parametrize(("text", "message"), [
    ("model = 'multi-cell'\n[axes]\nT_L = [0.0\n", "is not valid TOML"),
    ("modle = 'x'\n[axes]\nT_L = [0.0]\n", "modle: unknown key"),
    ("model = 'multi-cell'\n", "needs exactly one of \\[axes\\]"),
    ("model = 'a'\nfunction = 'b:c'\n[axes]\nx = [1.0]\n", "function: give model or function, not both"),
    ("[axes]\nT_L = 'hot'\n", "axes.T_L: must be a list of numbers"),
    ("[axes]\nT_L = {start = 0.0, stop = 1.0}\n", "axes.T_L: .*exactly one of num or step"),
    ("[axes]\nT_L = [0.0, nan]\n", "axes.T_L: T_L contains NaN"),
    ("[sample]\nn = 8\n", "ranges: a \\[sample\\] grid needs \\[ranges\\]"),
    ("[sample]\nn = 8\nkind = 'halton'\n[ranges]\nx = [0.0, 1.0]\n", "sample.kind: kind must be one of"),
    ("[sample]\nn = 8\n[ranges]\nx = [1.0, 0.0]\n", "ranges: range x must be finite with low < high"),
    ("[axes]\nx = [1.0]\n[fixed]\nn = [1, 2]\n", "fixed.n: must be a number"),
    ("[axes]\nx = [1.0]\n[fixed]\nx = 2.0\n", "x is a varying parameter"),
])
def test_malformed_files_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_grid_file(_write(tmp_path, text))


def test_function_route_of_the_command_line(tmp_path, capsys):
    path = _write(tmp_path, """
        function = "user_battery:features"
        [fixed]
        gamma = 0.2
        [axes]
        omega = [0.5, 1.0, 2.0]
        Omega = [0.0, 0.5]
        T = [0.3, 1.0]
    """)
    out = tmp_path / "run"
    assert main(["sweep", "--grid", str(path), "--out", str(out), "--chunk", "4", "--no-progress"]) == 0
    table = qb.read_dataset(out)
    grid = read_grid_file(path).grid
    import jax

    want = jax.jit(jax.vmap(lambda c: user_battery.features({**c, **grid.fixed})))(grid.params())
    for name in ("energy", "ergotropy", "purity", "populations"):
        np.testing.assert_allclose(column_array(table, name), np.asarray(want[name]), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(table.column("gamma").to_numpy(), np.full(12, 0.2))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["identity"]["function"] == "user_battery:features" and manifest["status"] == "complete"
    assert "12 rows in 3 parts" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["sweep", "--function", "user_battery:features"], "needs --grid"),
    (["sweep", "--function", "no_such_module:f", "--grid", "{grid}"], "cannot import module no_such_module"),
    (["sweep", "--function", "user_battery", "--grid", "{grid}"], "must be MODULE:NAME"),
    (["sweep", "--function", "user_battery:nope", "--grid", "{grid}"], "has no attribute nope"),
    (["sweep", "--grid", "{grid}", "--points", "3"], "--points belongs to the Table-I sweep"),
    (["sweep", "--grid", "{bare}"], "names no target"),
])
def test_command_line_errors(tmp_path, capsys, argv, message):
    grid = _write(tmp_path, "[axes]\nomega = [1.0]\nOmega = [0.1]\ngamma = [0.1]\nT = [1.0]\n", "bare.toml")
    argv = [a.format(grid=grid, bare=grid) for a in argv] + ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_model_names_match_the_registry():
    from qbjax.sweep.models import MODELS

    assert tuple(sorted(MODELS)) == MODEL_NAMES


MODEL_FILES = {
    "four-level": "[fixed]\nr = 0.5\n[axes]\np_c = [0.5, 0.9]\nT_h = [2.0, 5.0]\n",
    "multi-cell": "[fixed]\nn_cells = 3\nlam = 0.1\n[axes]\nT_L = {start = 0.0, stop = 2.0, num = 2}\nT_R = [0.5, 1.5]\n",
    "tavis-cummings": "[fixed]\nn_qubits = 2\nt1 = 5.0\nn_times = 20\ncurve = true\n"
                      "[sample]\nkind = 'sobol'\nn = 2\n[ranges]\ndetuning = [0.0, 1.0]\n",
    "micromaser": "[fixed]\nn_levels = 30\nn_collisions = 50\n[axes]\nc = [0.2, 0.8]\nq = [0.1, 0.5]\n",
    "charger": "[fixed]\nn_grid = 201\n[axes]\ntheta = [1.0, 3.0]\ngamma = [0.0, 0.2]\n",
}


@pytest.mark.parametrize("model", [pytest.param(m, marks=pytest.mark.slow) if m in ("charger", "multi-cell", "tavis-cummings") else m
                                   for m in sorted(MODEL_FILES)])
def test_every_built_in_model_sweeps_from_a_grid_file(tmp_path, model):
    """The dataset's last row equals the model built directly from that configuration (one
    configuration, qbjax's checks on: an independent path from the vmapped, unchecked sweep)."""
    from qbjax.sweep.models import sweep_model

    path = _write(tmp_path, f"model = {model!r}\n" + MODEL_FILES[model])
    out = tmp_path / "run"
    assert main(["sweep", "--grid", str(path), "--out", str(out), "--no-progress"]) == 0
    table = qb.read_dataset(out)
    grid = read_grid_file(path).grid
    assert table.num_rows == len(grid) and table.column_names[: 1 + len(grid.names)] == ["config_id", *grid.names]
    direct = sweep_model(model).function(dict(grid.fixed))(grid[len(grid) - 1])
    outputs = [c for c in direct if c in table.column_names and c not in grid.names]
    assert len(outputs) >= 4
    rtol = 1e-6 if model == "tavis-cummings" else 1e-7 if model == "charger" else 1e-10  # see test_sweep_models
    for name in outputs:
        np.testing.assert_allclose(column_array(table, name)[-1], np.asarray(direct[name]), rtol=rtol, atol=1e-12,
                                   err_msg=name)


def test_a_value_the_model_rejects_is_named_before_any_compute(tmp_path, capsys):
    path = _write(tmp_path, "model = 'four-level'\n[axes]\np_c = [0.5, 1.5]\n")
    assert main(["sweep", "--grid", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "p_c must lie in [0, 1]; got p_c = 1.5" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    path = _write(tmp_path, "model = 'multi-cell'\n[fixed]\nn_cells = 2\n[axes]\nT_X = [0.5]\n", "b.toml")
    assert main(["sweep", "--grid", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "axes.T_X: multi-cell has no parameter T_X" in capsys.readouterr().err
    path = _write(tmp_path, "model = 'multi-cell'\n[axes]\nn_cells = [2, 3]\nT_L = [0.5]\n", "c.toml")
    assert main(["sweep", "--grid", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "n_cells of multi-cell must be fixed" in capsys.readouterr().err
