"""scikit-learn baselines (paper 000 Table II): HistGradientBoosting and RandomForest, balanced
class weights, median imputation (the extra ``qbjax[ml]``; imported only here)."""

from __future__ import annotations

import numpy as np

__all__ = ["HGB_DEFAULTS", "RF_DEFAULTS", "fit_baseline", "predict_proba_full"]

#: fixed choices from the Table II search space (the paper searched it; we take one point of it)
HGB_DEFAULTS = {"learning_rate": 0.1, "max_depth": None, "max_leaf_nodes": 63, "min_samples_leaf": 20,
                "l2_regularization": 1e-3, "max_bins": 255, "early_stopping": True,
                "validation_fraction": 0.1, "n_iter_no_change": 10}
RF_DEFAULTS = {"n_estimators": 300, "max_depth": 24, "min_samples_leaf": 2, "max_features": "sqrt"}


def fit_baseline(kind: str, X, y, seed: int = 0, **overrides):
    """A fitted scikit-learn pipeline (median imputer + classifier) of ``kind`` "HGB" or "RF"."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    X = np.asarray(X, np.float64)
    if kind == "HGB":
        clf = HistGradientBoostingClassifier(loss="log_loss", class_weight="balanced", random_state=seed,
                                             **{**HGB_DEFAULTS, **overrides})
    elif kind == "RF":
        clf = RandomForestClassifier(class_weight="balanced", random_state=seed, n_jobs=-1,
                                     **{**RF_DEFAULTS, **overrides})
    else:
        raise ValueError(f"unknown baseline {kind!r}; choose 'HGB' or 'RF'")
    y = np.asarray(y)
    if kind == "HGB" and clf.early_stopping and np.unique(y, return_counts=True)[1].min() < 2:
        clf.set_params(early_stopping=False)  # its stratified validation split needs >= 2 rows a class
    model = make_pipeline(SimpleImputer(strategy="median"), clf)
    with _threads():
        model.fit(np.where(np.isfinite(X), X, np.nan), y)
    return model


def _threads():
    """One OpenMP/BLAS thread for scikit-learn: on this shared 2-core machine the default thread
    pool made HistGradientBoosting 25x slower (98 s vs 3.7 s on 8,000 rows under load 7)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def predict_proba_full(model, X, n_classes: int) -> np.ndarray:
    """``model.predict_proba`` with one column per class 0..n_classes-1 (zeros for classes the model
    never saw in training)."""
    X = np.asarray(X, np.float64)
    clf = model[-1]
    if hasattr(clf, "n_jobs") and clf.n_jobs != 1:
        # a forest's parallel predict_proba adds the trees' votes in thread order, so its last bits (and,
        # through ties, the ROC/PR-AUC) changed from run to run; one thread adds them in tree order
        clf.set_params(n_jobs=1)
    with _threads():
        p = model.predict_proba(np.where(np.isfinite(X), X, np.nan))
    out = np.zeros((X.shape[0], n_classes))
    out[:, np.asarray(model.classes_, int)] = p
    return out
