"""Flax/Optax MLP, metrics, importance (qbjax.learn.mlp, qbjax.learn.metrics)."""

import numpy as np
import pytest

from qbjax.learn.metrics import check_classes, classification_metrics
from qbjax.learn.mlp import MLPConfig, balanced_weights, fit_mlp


def _toy(n, seed, margin=0.0):
    """Three classes cut by two planes; rows within ``margin`` of a plane are dropped (separable)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -3.0]
    a, b = X[:, 0] + 0.5 * X[:, 1] - 0.5, X[:, 2] + 2.5
    X = X[(np.abs(a) > margin) & (np.abs(b) > margin)][:n]
    y = (X[:, 0] + 0.5 * X[:, 1] > 0.5).astype(int) + (X[:, 2] > -2.5)
    return X, y


def test_mlp_learns_separable_toy_problem_deterministically():
    X, y = _toy(3000, 0, margin=0.1)
    Xt, yt = _toy(2000, 1, margin=0.1)
    cfg = MLPConfig(hidden=(64, 32), max_epochs=60, n_iter_no_change=10)
    m = fit_mlp(X, y, 3, cfg, seed=0)
    acc = np.mean(m.predict(Xt) == yt)
    assert acc > 0.99, acc
    p = m.predict_proba(Xt)
    assert p.shape == (2000, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    m2 = fit_mlp(X, y, 3, cfg, seed=0)
    assert np.array_equal(m2.predict_proba(Xt), p)  # deterministic for a seed
    assert m.history["epochs"] <= 60


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="two classes"):
        fit_mlp(np.zeros((10, 2)), np.zeros(10, int), 2)
    with pytest.raises(ValueError, match="X must be"):
        fit_mlp(np.zeros((10, 2)), np.zeros(9, int), 2)
    with pytest.raises(ValueError, match="activation"):
        MLPConfig(activation="gelu")


def test_balanced_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_sample_weight

    y = np.array([0, 0, 0, 1, 2, 2, 0, 1])
    assert np.allclose(balanced_weights(y, 3), compute_sample_weight("balanced", y))


def test_metrics_equal_sklearn():
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        matthews_corrcoef,
        roc_auc_score,
    )

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3)) + 2.0 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = classification_metrics(y, p)
    pred = p.argmax(1)
    assert m["accuracy"] == accuracy_score(y, pred)
    assert m["f1"] == f1_score(y, pred, average="macro")
    assert m["mcc"] == matthews_corrcoef(y, pred)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(np.mean([average_precision_score(y == c, p[:, c]) for c in range(3)]),
                                        abs=1e-12)


def test_class_absent_from_test_is_a_clear_error():
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] absent from TEST"):
        check_classes(np.array([0, 1, 1, 0]), 3)
    with pytest.raises(ValueError, match="absent from TEST"):
        classification_metrics(np.array([0, 1, 1, 0]), np.full((4, 3), 1 / 3))


def test_permutation_importance_finds_the_informative_feature():
    from qbjax.learn.importance import permutation_importance

    X, y = _toy(1000, 2)
    X = np.hstack([X, np.random.default_rng(0).normal(size=(1000, 1))])
    predict = lambda A: (A[:, 0] + 0.5 * A[:, 1] > 0.5).astype(int) + (A[:, 2] > -2.5)
    imp = permutation_importance(predict, X, y, ["a", "b", "c", "noise"], n_repeats=5)
    assert imp["noise"][0] == 0.0 and imp["a"][0] > 0.1 and imp["c"][0] > 0.1
