"""`qbjax learn`: ergotropy-regime learning of paper 000 Sec. III on sweep datasets.

One concept a module:

- :mod:`~qbjax.learn.data`: read a dataset (``DIR/data/part-*.parquet`` or one ``.parquet``), check columns;
- :mod:`~qbjax.learn.split`: group-aware 70/30 DEV/TEST split (no group on both sides);
- :mod:`~qbjax.learn.labels`: class 0 = ratio < 1, exact 1-D k-means + exact O(N log N) 1-D silhouette
  (elbow fallback) on the DEV ratios >= 1, thresholds applied to TEST;
- :mod:`~qbjax.learn.mappings`: f_E .. f_Full, f1 .. f8 and the paper's published metrics;
- :mod:`~qbjax.learn.mlp`: Flax MLP + Optax (jit-compiled epochs, float32, early stopping, Table II search);
- :mod:`~qbjax.learn.baselines`: scikit-learn HistGradientBoosting / RandomForest (extra ``ml``);
- :mod:`~qbjax.learn.classifiers`: one ``train(kind, ...)`` over the three families;
- :mod:`~qbjax.learn.metrics`, :mod:`~qbjax.learn.importance`: TEST metrics (scikit-learn's functions),
  permutation importance;
- :mod:`~qbjax.learn.pipeline` (:func:`learn`), :mod:`~qbjax.learn.figures`, :mod:`~qbjax.learn.report`,
  :mod:`~qbjax.learn.cli` (``qbjax learn``, :func:`~qbjax.learn.cli.run_learn`).

    >>> from qbjax.learn import learn, LearnOptions            # doctest: +SKIP
    >>> res = learn("runs/grid-filtered", LearnOptions.quick())  # doctest: +SKIP
    >>> res["tables"]["f_C"]["MLP"]["mcc"]                      # doctest: +SKIP
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "GROUP_KEYS": ".split",
    "LabelModel": ".labels",
    "LearnOptions": ".pipeline",
    "MAPPINGS": ".mappings",
    "fit_labels": ".labels",
    "group_ids": ".split",
    "group_split": ".split",
    "kmeans_1d": ".labels",
    "learn": ".pipeline",
    "silhouette_1d": ".labels",
})
