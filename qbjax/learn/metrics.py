"""TEST metrics (paper 000 Tables III and VI) from scikit-learn's metric functions.

accuracy, macro-F1, MCC, macro one-vs-rest ROC-AUC and macro PR-AUC (average precision per class,
macro-averaged), plus the confusion matrix and per-class ROC / PR curves for Figs. 4, 7, 8.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "check_classes", "classification_metrics", "curves"]

METRICS = ("accuracy", "f1", "mcc", "roc_auc", "pr_auc")


def check_classes(y, n_classes: int, where: str = "TEST") -> None:
    """Raise ``ValueError`` if a class 0..n_classes-1 has no row in ``y``."""
    present = np.unique(np.asarray(y))
    absent = [c for c in range(n_classes) if c not in present]
    if absent:
        raise ValueError(f"class(es) {absent} absent from {where} ({np.asarray(y).size} rows); "
                         "ROC/PR-AUC per class are undefined. Use a larger grid or another seed.")


def classification_metrics(y_true, proba, n_classes: int | None = None) -> dict:
    """accuracy, macro-F1, MCC, macro OvR ROC-AUC, macro PR-AUC of class probabilities ``proba``
    (n, n_classes); predictions are the argmax."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        matthews_corrcoef,
        roc_auc_score,
    )
    from sklearn.preprocessing import label_binarize

    y_true = np.asarray(y_true)
    proba = np.asarray(proba, np.float64)
    n_classes = proba.shape[1] if n_classes is None else n_classes
    if proba.ndim != 2 or proba.shape != (y_true.size, n_classes):
        raise ValueError(f"proba must be (n, {n_classes}) with n = len(y_true); got {proba.shape}")
    check_classes(y_true, n_classes)
    labels = np.arange(n_classes)
    pred = np.argmax(proba, axis=1)
    onehot = label_binarize(y_true, classes=labels)
    if n_classes == 2:
        onehot = np.hstack([1 - onehot, onehot])
    return {
        "accuracy": float(accuracy_score(y_true, pred)),
        "f1": float(f1_score(y_true, pred, labels=labels, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(y_true, pred)),
        "roc_auc": float(roc_auc_score(onehot, proba, average="macro")),
        "pr_auc": float(average_precision_score(onehot, proba, average="macro")),
    }


def curves(y_true, proba) -> dict:
    """Confusion matrix and per-class one-vs-rest ROC and PR curves (with AUC / AP)."""
    from sklearn.metrics import (
        auc,
        average_precision_score,
        confusion_matrix,
        precision_recall_curve,
        roc_curve,
    )

    y_true = np.asarray(y_true)
    proba = np.asarray(proba)
    k = proba.shape[1]
    out = {"confusion": confusion_matrix(y_true, np.argmax(proba, 1), labels=np.arange(k)), "roc": [], "pr": []}
    for c in range(k):
        t = (y_true == c).astype(int)
        fpr, tpr, _ = roc_curve(t, proba[:, c])
        prec, rec, _ = precision_recall_curve(t, proba[:, c])
        out["roc"].append((fpr, tpr, float(auc(fpr, tpr))))
        out["pr"].append((rec, prec, float(average_precision_score(t, proba[:, c]))))
    return out
