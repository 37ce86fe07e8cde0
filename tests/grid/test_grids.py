"""qb.grid: lengths, the config_id -> parameters map, fixed parameters, fingerprints.

References: numpy.unravel_index for the product order, scipy.stats.qmc drawn directly for the
samples, the Table-I sweep's own config_ids_to_params for table_one.
"""

import numpy as np
import pytest

import qbjax as qb


def test_product_is_c_order_like_numpy():
    a, b, c = np.linspace(0, 1, 3), np.array([5.0, 6.0]), np.array([-1.0, 0.0, 1.0, 2.0])
    g = qb.grid.product(a=a, b=b, c=c)
    assert len(g) == 24 and g.names == ("a", "b", "c")
    ids = np.arange(24)
    i, j, k = np.unravel_index(ids, (3, 2, 4))
    p = g.params(ids)
    np.testing.assert_array_equal(p["a"], a[i])
    np.testing.assert_array_equal(p["b"], b[j])
    np.testing.assert_array_equal(p["c"], c[k])
    assert g[13] == {"a": a[1], "b": b[1], "c": c[1]}
    assert g[-1] == {"a": 1.0, "b": 6.0, "c": 2.0}


def test_product_lookup_inside_jit_equals_numpy():
    import jax
    import jax.numpy as jnp

    g = qb.grid.product(x=[0.1, 0.2, 0.3], y={"u": [1.0, 2.0], "v": [10.0, 20.0]})
    assert g.names == ("x", "u", "v") and len(g) == 6
    ids = np.arange(6)
    data = {k: jnp.asarray(v) for k, v in g.data().items()}
    got = jax.jit(lambda d, i: g.lookup(d, i, jnp))(data, jnp.asarray(ids))
    want = g.params(ids)
    for k in want:
        np.testing.assert_array_equal(np.asarray(got[k]), want[k])
    np.testing.assert_array_equal(want["v"], 10 * want["u"])  # the zipped axis varies together


def test_linspace_and_step_axes():
    g = qb.grid.product(T={"start": 0.0, "stop": 2.0, "num": 5}, n={"start": 1, "stop": 3, "step": 1})
    np.testing.assert_array_equal(g.data()["T"], np.linspace(0.0, 2.0, 5))
    np.testing.assert_array_equal(g.data()["n"], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="exactly one of num or step"):
        qb.grid.product(T={"start": 0.0, "stop": 1.0})


def test_fixed_parameters():
    g = qb.grid.product(T_L=[0.0, 1.0]).fix(n_cells=3, environment="A")
    assert g.fixed == {"n_cells": 3, "environment": "A"} and g[1] == {"T_L": 1.0, "n_cells": 3, "environment": "A"}
    assert qb.grid.product(fixed={"lam": 0.1}, T_L=[0.0]).fixed == {"lam": 0.1}
    with pytest.raises(ValueError, match="T_L is a varying parameter"):
        g.fix(T_L=2.0)
    with pytest.raises(ValueError, match="fixed parameter lam must be finite"):
        g.fix(lam=float("nan"))
    with pytest.raises(ValueError, match="fixed parameter v must be a real number"):
        g.fix(v=[1, 2])


def test_fingerprint_changes_with_any_value():
    base = qb.grid.product(a=[0.0, 1.0], b=[2.0])
    same = qb.grid.product(a=np.array([0.0, 1.0]), b=[2.0])
    assert base.fingerprint == same.fingerprint
    others = [qb.grid.product(a=[0.0, 1.0 + 1e-15], b=[2.0]), qb.grid.product(b=[2.0], a=[0.0, 1.0]),
              base.fix(n=1), qb.grid.table({"a": [0.0, 1.0], "b": [2.0, 2.0]})]
    assert len({base.fingerprint, *(o.fingerprint for o in others)}) == 1 + len(others)


def test_bad_axes():
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        qb.grid.product(x=[0.0, np.nan])
    with pytest.raises(ValueError, match="x must be a non-empty 1-D array"):
        qb.grid.product(x=[])
    with pytest.raises(ValueError, match="vary together and need equally many values"):
        qb.grid.product(t={"u": [1.0, 2.0], "v": [1.0]})
    with pytest.raises(ValueError, match="parameter u appears on two axes"):
        qb.grid.product(t={"u": [1.0]}, u=[2.0])
    with pytest.raises(ValueError, match="x must hold real numbers"):
        qb.grid.product(x=[1 + 1j])


@pytest.mark.parametrize("kind", ["sobol", "latin"])
def test_quasi_random_samples_are_scipy_qmc(kind):
    from scipy.stats import qmc

    g = qb.grid.sample(32, kind, seed=7, a=(0.0, 2.0), b=(-1.0, 1.0))
    engine = qmc.Sobol(2, scramble=True, seed=7) if kind == "sobol" else qmc.LatinHypercube(2, seed=7)
    unit = engine.random_base2(5) if kind == "sobol" else engine.random(32)
    p = g.params()
    np.testing.assert_array_equal(p["a"], 2.0 * unit[:, 0])
    np.testing.assert_array_equal(p["b"], -1.0 + 2.0 * unit[:, 1])
    assert qb.grid.sample(32, kind, seed=7, a=(0.0, 2.0), b=(-1.0, 1.0)).fingerprint == g.fingerprint
    assert qb.grid.sample(32, kind, seed=8, a=(0.0, 2.0), b=(-1.0, 1.0)).fingerprint != g.fingerprint


def test_random_sample_and_errors():
    g = qb.grid.sample(100, "random", seed=3, a=(1.0, 1.5))
    np.testing.assert_array_equal(g.params()["a"], 1.0 + 0.5 * np.random.default_rng(3).random((100, 1))[:, 0])
    with pytest.raises(ValueError, match="kind must be one of"):
        qb.grid.sample(8, "halton", a=(0.0, 1.0))
    with pytest.raises(ValueError, match="range a must be finite with low < high"):
        qb.grid.sample(8, a=(1.0, 0.0))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        qb.grid.sample(0, a=(0.0, 1.0))


def test_table_from_dict_dataframe_and_parquet(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"T_L": np.array([0.1, 0.2, 0.3]), "T_R": np.array([1.0, 2.0, 3.0])}
    pq.write_table(pa.table({**rows, "config_id": np.arange(3)}), tmp_path / "rows.parquet")
    grids = [qb.grid.table(rows), qb.grid.table(pd.DataFrame(rows)), qb.grid.table(tmp_path / "rows.parquet")]
    for g in grids:
        assert len(g) == 3 and g.names == ("T_L", "T_R") and g[2] == {"T_L": 0.3, "T_R": 3.0}
    assert len({g.fingerprint for g in grids}) == 1
    with pytest.raises(ValueError, match="equally many rows"):
        qb.grid.table({"a": [1.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match="existing Parquet file"):
        qb.grid.table(tmp_path / "missing.parquet")


def test_table_one_is_the_sweep_grid():
    from qbjax.sweep.grid import config_ids_to_params, table_one_axes

    g = qb.grid.table_one(points=3, seed=2)
    assert len(g) == 3**7
    ids = np.arange(3**7)
    want = config_ids_to_params(table_one_axes(3, 2), ids)
    got = g.params(ids)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
