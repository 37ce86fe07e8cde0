"""Group split and k-means labels of the learning pipeline (qbjax.learn.split, qbjax.learn.labels)."""

import numpy as np
import pytest

from qbjax.learn.labels import choose_k, elbow_k, fit_labels, kmeans_1d, silhouette_1d
from qbjax.learn.split import GROUP_KEYS, assert_no_leak, group_ids, group_split


def _grid_cols(n_groups=300, per_group=4, seed=0):
    rng = np.random.default_rng(seed)
    keys = {k: np.repeat(rng.uniform(size=n_groups), per_group) for k in GROUP_KEYS}
    keys["eps"] = np.tile(np.arange(per_group, dtype=float), n_groups)
    return keys


def test_split_leaks_no_group_and_is_70_30():
    cols = _grid_cols()
    g = group_ids(cols)
    assert np.unique(g).size == 300
    dev, test = group_split(g, 0.3, seed=1)
    assert np.intersect1d(g[dev], g[test]).size == 0
    assert np.union1d(dev, test).size == g.size and np.intersect1d(dev, test).size == 0
    assert abs(test.size / g.size - 0.3) < 0.02
    _dev2, test2 = group_split(g, 0.3, seed=1)
    assert np.array_equal(test, test2)  # deterministic for a seed
    with pytest.raises(AssertionError, match="leakage"):
        assert_no_leak(g, dev, np.concatenate([test, dev[:1]]))


def test_split_rejects_too_few_rows_and_missing_keys():
    with pytest.raises(ValueError, match="too few rows"):
        group_split(np.arange(5), 0.3)
    with pytest.raises(ValueError, match="too few groups"):
        group_split(np.zeros(50, int), 0.3)
    with pytest.raises(ValueError, match="group keys"):
        group_ids({"p_h": np.zeros(3)})


@pytest.mark.parametrize("seed", range(6))
def test_silhouette_1d_equals_sklearn(seed):
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    x = rng.normal(size=n) * rng.uniform(0.1, 10) + rng.uniform(-5, 5)
    if seed % 2:
        x = np.round(x, 1)  # ties
    labels = rng.integers(0, int(rng.integers(2, 6)), n)
    labels[0] = 99  # a singleton cluster (s = 0 by convention)
    ours = silhouette_1d(x, labels)
    ref = silhouette_score(x[:, None], labels)
    assert abs(ours - ref) <= 1e-12


def test_kmeans_1d_matches_sklearn_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, 400), rng.normal(6, 0.5, 300), rng.normal(12, 2, 300)])
    c, w, lab = kmeans_1d(x, 3, seed=0)
    km = KMeans(3, n_init=10, random_state=0).fit(x[:, None])
    assert w <= km.inertia_ * (1 + 1e-9)
    assert np.allclose(np.sort(km.cluster_centers_.ravel()), c, atol=1e-6)
    assert np.array_equal(np.argsort(c), np.arange(3)) and lab.max() == 2


def test_labels_recover_planted_k_and_thresholds():
    rng = np.random.default_rng(0)
    hi = [rng.normal(1.5, 0.05, 500), rng.normal(3.0, 0.1, 400), rng.normal(5.0, 0.1, 300)]
    r = np.concatenate([rng.uniform(0.2, 0.99, 600), *hi])
    model = fit_labels(r)
    assert model.k == 3 and model.selection["rule"] == "silhouette"
    # 1-D k-means thresholds are the midpoints of the cluster means
    means = [h.mean() for h in hi]
    expected = [(means[0] + means[1]) / 2, (means[1] + means[2]) / 2]
    assert np.allclose(model.thresholds, expected, atol=1e-9)
    y = model.apply(r)
    assert np.array_equal(np.bincount(y), [600, 500, 400, 300])
    # DEV thresholds are applied to new (TEST) values unchanged
    assert model.apply(np.array([0.5, 1.0, 2.0, 3.5, 100.0])).tolist() == [0, 1, 1, 2, 3]


def test_elbow_fallback_when_silhouette_is_flat():
    assert elbow_k([2, 3, 4, 5, 6], [100, 20, 15, 12, 10]) == 3
    z = np.linspace(-1, 1, 400)  # uniform: no clear silhouette maximum between neighbouring K
    sel = choose_k(z, ks=range(2, 6), tol=1.0)
    assert sel["rule"] == "elbow" and sel["k"] == elbow_k(sel["ks"], sel["wcss"])


def test_labels_bad_input():
    with pytest.raises(ValueError, match="too few DEV rows"):
        fit_labels(np.array([0.5, 0.7, 1.2]))
    with pytest.raises(ValueError, match="non-finite"):
        fit_labels(np.array([0.5, np.inf, 1.2, 2.0, 3.0]))
