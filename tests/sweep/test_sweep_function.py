"""qb.sweep of a battery that is not one of qbjax's models (user_battery.py, core API only).

The reference is a direct ``jax.jit(jax.vmap(fn))`` of the same points in this process (and the
grids' own parameter maps for the parameter columns).
"""

import json

import jax
import numpy as np
import pytest
import user_battery

import qbjax as qb
from qbjax.sweep.columns import column_array

CHUNK = 8


def _direct(fn, grid):
    return {k: np.asarray(v) for k, v in jax.jit(jax.vmap(lambda c: fn({**c, **grid.fixed})))(grid.params()).items()}


def _assert_dataset_is(table, grid, want):
    np.testing.assert_array_equal(table.column("config_id").to_numpy(), np.arange(len(grid)))
    params = grid.params()
    for name in grid.names:
        np.testing.assert_array_equal(table.column(name).to_numpy(), params[name])
    for name, values in want.items():
        np.testing.assert_allclose(column_array(table, name), values, rtol=1e-12, atol=1e-15)


@pytest.fixture(scope="module")
def small_product():
    return qb.grid.product(omega=[0.5, 1.5, 2.0], Omega=[0.0, 0.7], gamma=[0.1, 0.3], T=[0.2, 1.0])


def test_product_grid_equals_direct_vmap(tmp_path, small_product):
    out = qb.sweep(user_battery.features, small_product, tmp_path / "p", chunk=CHUNK, progress=False)
    table = qb.read_dataset(out)
    assert table.num_rows == 24
    # config_id, the parameters in grid order, the outputs (in JAX's pytree order: sorted by name)
    assert table.column_names == ["config_id", "omega", "Omega", "gamma", "T", "energy", "ergotropy",
                                  "populations", "purity"]
    assert str(table.schema.field("populations").type) == "fixed_size_list<element: double>[2]"
    _assert_dataset_is(table, small_product, _direct(user_battery.features, small_product))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["parts"] == 3
    assert manifest["identity"]["function"] == "user_battery:features"
    assert manifest["parameters"]["grid_fingerprint"] == small_product.fingerprint


def test_sobol_sample_with_fixed_parameters_equals_direct_vmap(tmp_path):
    def fn(c):
        out = user_battery.features(c)
        return {"ergotropy": out["ergotropy"], "scaled": c["scale"] * out["energy"]}

    grid = qb.grid.sample(16, "sobol", seed=3, omega=(0.5, 2.0), Omega=(0.0, 1.0), gamma=(0.05, 0.5),
                          T=(0.1, 2.0)).fix(scale=2.5, label="run-a")
    table = qb.read_dataset(qb.sweep(fn, grid, tmp_path / "s", chunk=CHUNK, progress=False))
    _assert_dataset_is(table, grid, _direct(fn, grid))
    np.testing.assert_array_equal(table.column("scale").to_numpy(), np.full(16, 2.5))
    assert "label" not in table.column_names  # strings stay in the manifest


def test_resume_is_refused_for_another_grid_function_or_chunk(tmp_path, small_product):
    out = qb.sweep(user_battery.features, small_product, tmp_path / "r", chunk=CHUNK, progress=False)
    other = qb.grid.product(omega=[0.5, 1.5, 2.5], Omega=[0.0, 0.7], gamma=[0.1, 0.3], T=[0.2, 1.0])
    with pytest.raises(ValueError, match="cannot resume .*grid_values: dataset"):
        qb.sweep(user_battery.features, other, out, chunk=CHUNK, resume=True, progress=False)
    with pytest.raises(ValueError, match="fixed: dataset"):
        qb.sweep(user_battery.features, small_product.fix(extra=1), out, chunk=CHUNK, resume=True, progress=False)

    def changed(c):
        return {**user_battery.features(c), "energy": 2.0 * user_battery.features(c)["energy"]}

    with pytest.raises(ValueError, match="function: dataset 'user_battery:features'"):
        qb.sweep(changed, small_product, out, chunk=CHUNK, resume=True, progress=False)
    with pytest.raises(ValueError, match="function_program: dataset"):
        qb.sweep(changed, small_product, out, chunk=CHUNK, resume=True, progress=False, name="user_battery:features")
    with pytest.raises(ValueError, match="chunk: dataset 8, requested 4"):
        qb.sweep(user_battery.features, small_product, out, chunk=4, resume=True, progress=False)
    with pytest.raises(OSError, match="already holds a sweep; pass --resume"):
        qb.sweep(user_battery.features, small_product, out, chunk=CHUNK, progress=False)


def test_resume_recomputes_only_missing_parts(tmp_path, small_product):
    out = qb.sweep(user_battery.features, small_product, tmp_path / "m", chunk=CHUNK, progress=False)
    full = qb.read_dataset(out)
    (out / "data" / "part-000001.parquet").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["status"] = "running"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="incomplete"):
        qb.read_dataset(out)
    qb.sweep(user_battery.features, small_product, out, resume=True, progress=False)  # chunk from the manifest
    run = json.loads((out / "manifest.json").read_text())["runs"][-1]["processes"][0]
    assert (run["chunks_skipped_existing"], run["chunks_computed"]) == (2, 1)
    assert qb.read_dataset(out).equals(full)


def test_validate_runs_on_the_whole_grid_before_any_compute(tmp_path, small_product):
    seen = {}

    def validate(params):
        seen.update(params)
        if np.any(params["T"] > 0.5):
            raise ValueError(f"T must be <= 0.5; got T = {params['T'].max()}")

    with pytest.raises(ValueError, match="T must be <= 0.5; got T = 1.0"):
        qb.sweep(user_battery.features, small_product, tmp_path / "v", validate=validate, progress=False)
    assert not (tmp_path / "v").exists()  # refused before anything was created
    assert seen["T"].shape == (24,)


def test_checked_up_front_means_no_host_callback(small_product):
    import re

    from qbjax.sweep.job import function_job

    def callbacks(compiled):
        return re.findall(r'custom_call_target="[^"]*callback[^"]*"', compiled.as_text())

    devices = jax.local_devices()[:1]
    checked = function_job(user_battery.features, small_product, validate=lambda p: None).compile(devices, CHUNK)[0]
    assert callbacks(checked) == []
    in_step = function_job(user_battery.features, small_product).compile(devices, CHUNK)[0]
    assert callbacks(in_step)  # qbjax's traced checks stay on without up-front checks


@pytest.mark.parametrize(("fn", "message"), [
    (lambda c: c["omega"], "must return a non-empty dict"),
    (lambda c: {"T": c["omega"]}, "output T has the name of a parameter"),
    (lambda c: {"z": c["omega"] * 1j}, "output z is complex"),
    (lambda c: {"x": {"y": c["omega"]}}, "output x must be an array"),
    (lambda c: {"x": c["no_such"]}, "fn failed on one configuration of the grid .*KeyError"),
])
def test_bad_functions_are_refused(tmp_path, small_product, fn, message):
    with pytest.raises(ValueError, match=message):
        qb.sweep(fn, small_product, tmp_path / "b", progress=False)


def test_bad_arguments(tmp_path, small_product):
    with pytest.raises(ValueError, match="grid must be a qbjax grid"):
        qb.sweep(user_battery.features, {"omega": [1.0]}, tmp_path / "a")
    with pytest.raises(ValueError, match="fn must be a function"):
        qb.sweep(3, small_product, tmp_path / "a")
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        qb.sweep(user_battery.features, small_product, tmp_path / "a", chunk=0)
