"""One interface over the three model families: ``train(kind, X, y, n_classes, seed, **settings)``
returns a fitted model with ``predict_proba(X) -> (n, n_classes)`` and ``predict(X)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mlp import MLPConfig, fit_mlp

__all__ = ["KINDS", "TABLE_IV", "Trained", "train"]

KINDS = ("MLP", "HGB", "RF")

#: the paper's fixed models for feature importance (Table IV); MLP max_iter=500 -> max_epochs
TABLE_IV = {
    "MLP": {"config": MLPConfig(hidden=(100, 50), activation="relu", max_epochs=500)},
    "HGB": {"max_iter": 100, "learning_rate": 0.1, "max_depth": 5, "early_stopping": False},
    "RF": {"n_estimators": 100, "max_depth": 10, "min_samples_leaf": 1},
}


@dataclass
class Trained:
    kind: str
    model: object
    n_classes: int
    info: dict

    def predict_proba(self, X) -> np.ndarray:
        if self.kind == "MLP":
            return self.model.predict_proba(X)
        from .baselines import predict_proba_full

        return predict_proba_full(self.model, X, self.n_classes)

    def predict(self, X) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


def train(kind: str, X, y, n_classes: int, seed: int = 0, **settings) -> Trained:
    """Fit ``kind`` ("MLP", "HGB" or "RF") on ``(X, y)``.

    MLP: ``config=MLPConfig(...)``; HGB / RF: keyword overrides of the scikit-learn defaults in
    :mod:`qbjax.learn.baselines`.
    """
    if kind == "MLP":
        cfg = settings.get("config", MLPConfig())
        fitted = fit_mlp(X, y, n_classes, cfg, seed=seed, min_rows=settings.get("min_rows", 0),
                         min_cols=settings.get("min_cols", 0))
        return Trained(kind, fitted, n_classes, {"epochs": fitted.history["epochs"],
                                                  "best_val_f1": fitted.history["best_val_f1"]})
    if kind in ("HGB", "RF"):
        from .baselines import fit_baseline

        settings = {k: v for k, v in settings.items() if k not in ("min_rows", "min_cols")}
        return Trained(kind, fit_baseline(kind, X, y, seed=seed, **settings), n_classes, dict(settings))
    raise ValueError(f"unknown model kind {kind!r}; choose from {KINDS}")
