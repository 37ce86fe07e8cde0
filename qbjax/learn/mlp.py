"""The primary classifier: a Flax (linen) MLP trained with Optax (paper 000 Table II).

Pipeline as in the paper's Table II: median imputation + standardisation (fitted on the training
rows), a ReLU/tanh MLP, Adam with L2 penalty ``alpha`` (scikit-learn's convention:
``0.5 * alpha * ||W||^2 / batch``), mini-batches of 128, balanced class weights
(``n / (n_classes * n_c)``) in the cross-entropy, early stopping on a stratified validation fraction
(patience ``n_iter_no_change`` epochs without a higher validation macro-F1 or, at equal macro-F1, a
lower validation cross-entropy; the best parameters are kept).

The MLP runs in float32 (regardless of qbjax's float64 physics): inputs are standardised, so single
precision is ample for classification.  One epoch (shuffle, all mini-batches in a ``lax.fori_loop``) is a
single jit-compiled call with the data resident on the device; runs are deterministic for a seed.
The last incomplete mini-batch of each (reshuffled) epoch is dropped.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, replace

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "MLP",
    "TABLE_II_MLP",
    "FittedMLP",
    "MLPConfig",
    "balanced_weights",
    "fit_mlp",
    "search_mlp",
    "stratified_holdout",
]

#: the paper's MLP search space (Table II)
TABLE_II_MLP = {
    "hidden": [(128,), (128, 64), (256, 128)],
    "activation": ["relu", "tanh"],
    "alpha": [1e-4, 3e-4, 1e-3],
    "lr": [1e-3, 3e-4],
}


@dataclass(frozen=True)
class MLPConfig:
    hidden: tuple = (128, 64)
    activation: str = "relu"
    alpha: float = 1e-4
    lr: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 1000
    n_iter_no_change: int = 20
    val_fraction: float = 0.1
    tol: float = 1e-4

    def __post_init__(self):
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh'; got {self.activation!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1); got {self.val_fraction}")
        if self.batch_size < 1 or self.max_epochs < 1:
            raise ValueError("batch_size and max_epochs must be >= 1")


class MLP(nn.Module):
    hidden: tuple
    n_classes: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x):
        act = nn.relu if self.activation == "relu" else jnp.tanh
        for h in self.hidden:
            x = act(nn.Dense(h)(x))
        return nn.Dense(self.n_classes)(x)


def balanced_weights(y, n_classes: int) -> np.ndarray:
    """scikit-learn's ``class_weight="balanced"`` per row: n / (n_present * n_c)."""
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = np.count_nonzero(counts)
    w_class = np.where(counts > 0, y.size / (present * np.maximum(counts, 1)), 0.0)
    return w_class[y]


def stratified_holdout(y, fraction: float, seed: int):
    """``(train_idx, val_idx)`` with about ``fraction`` of every class in validation (>= 1 each
    class that has >= 2 rows)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_val = round(fraction * idx.size)
        if idx.size >= 2:
            n_val = min(max(n_val, 1), idx.size - 1)
        else:
            n_val = 0
        val.append(idx[:n_val])
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    mask = np.ones(y.size, bool)
    mask[val] = False
    return np.flatnonzero(mask), val


def _macro_f1(logits, y, n_classes, mask):
    """Macro-F1 over the classes present in y or in the predictions (scikit-learn's default), rows
    weighted by ``mask``."""
    pred = jnp.argmax(logits, axis=-1)
    p1 = jax.nn.one_hot(pred, n_classes) * mask[:, None]
    t1 = jax.nn.one_hot(y, n_classes) * mask[:, None]
    tp = jnp.sum(p1 * t1, axis=0)
    fp = jnp.sum(p1, axis=0) - tp
    fn = jnp.sum(t1, axis=0) - tp
    denom = 2 * tp + fp + fn
    f1 = jnp.where(denom > 0, 2 * tp / jnp.maximum(denom, 1), 0.0)
    present = jnp.sum(t1, axis=0) > 0
    return jnp.sum(jnp.where(present | (jnp.sum(p1, axis=0) > 0), f1, 0.0)) / jnp.maximum(
        jnp.sum(present | (jnp.sum(p1, axis=0) > 0)), 1)


def _bucket(n: int, lo: int = 1024) -> int:
    """Padded capacity: the next power of two >= n (at least ``lo``), so compiled shapes are reused."""
    return max(lo, 1 << max(int(n) - 1, 0).bit_length())


# The compiled functions below are module-level ``eqx.filter_jit`` functions: arrays are traced and
# everything else (the Flax module, which carries the layer sizes, activation and number of classes;
# the learning rate, L2 penalty and batch size, as Python numbers) is static, so JAX's own cache
# compiles each once per configuration and array shape.  Data are padded to power-of-two capacities
# and the true row count is a traced argument, so one compilation serves every training size of the
# same capacity (and feature-count bucket).


def _loss(model, alpha, params, xb, yb, wb):
    logits = model.apply(params, xb)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb)
    l2 = sum(jnp.sum(w**2) for p, w in jax.tree_util.tree_leaves_with_path(params)
             if "kernel" in jax.tree_util.keystr(p))
    return jnp.sum(wb * ce) / jnp.maximum(jnp.sum(wb), 1e-12) + 0.5 * alpha * l2 / xb.shape[0]


@eqx.filter_jit
def _init(model: MLP, lr: float, key, X):
    """Initial parameters (from one row of ``X``) and Adam state."""
    params = model.init(key, X[:1])
    return params, optax.adam(lr).init(params)


@eqx.filter_jit
def _epoch(model: MLP, lr: float, alpha: float, batch_size: int, params, opt_state, key, X, y, w, n_valid):
    """One epoch: a random permutation of the ``n_valid`` valid rows of the padded ``X``, then every
    full mini-batch of ``batch_size`` rows in a ``lax.fori_loop``; returns (params, opt_state, mean loss)."""
    tx = optax.adam(lr)
    cap = X.shape[0]
    bs = batch_size
    # a random permutation of the valid rows first (padded rows sort last)
    u = jnp.where(jnp.arange(cap) < n_valid, jax.random.uniform(key, (cap,)), 2.0)
    perm = jnp.argsort(u)
    nb = jnp.maximum(n_valid // bs, 1)

    def body(i, carry):
        params, opt_state, total = carry
        idx = jax.lax.dynamic_slice(perm, (i * bs,), (bs,))
        loss, grads = jax.value_and_grad(_loss, argnums=2)(model, alpha, params, X[idx], y[idx], w[idx])
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, total + loss

    params, opt_state, total = jax.lax.fori_loop(0, nb, body, (params, opt_state, jnp.float32(0.0)))
    return params, opt_state, total / nb


@eqx.filter_jit
def _score(model: MLP, params, X, y, mask):
    """(macro-F1, mean cross-entropy) over the rows of ``X`` weighted by ``mask``."""
    logits = model.apply(params, X)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    return _macro_f1(logits, y, model.n_classes, mask), jnp.sum(mask * ce) / jnp.maximum(jnp.sum(mask), 1.0)


@eqx.filter_jit
def _logits(model: MLP, params, X):
    return model.apply(params, X)


def _dbucket(d: int) -> int:
    """Feature count padded to a power of two (zero columns: no effect on the network's function)."""
    return 1 << max(int(d) - 1, 0).bit_length()


def _pad(X, rows: int, cols: int, dtype=np.float32):
    out = np.zeros((rows, cols), dtype)
    out[: X.shape[0], : X.shape[1]] = X
    return out


@dataclass
class FittedMLP:
    """A trained MLP: ``predict_proba(X)``/``predict(X)`` on raw (unscaled) features."""

    params: dict
    config: MLPConfig
    n_classes: int
    median: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    history: dict

    def _prep(self, X):
        X = np.asarray(X, np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean.size:
            raise ValueError(f"X must have {self.mean.size} columns; got shape {X.shape}")
        X = np.where(np.isfinite(X), X, self.median)
        return ((X - self.mean) / self.scale).astype(np.float32)

    def predict_proba(self, X, chunk: int = 16384) -> np.ndarray:
        model = MLP(tuple(self.config.hidden), self.n_classes, self.config.activation)
        Xs = self._prep(X)
        d = self.history.get("padded_cols", _dbucket(Xs.shape[1]))
        out = []
        for s in range(0, max(Xs.shape[0], 1), chunk):
            part = Xs[s:s + chunk]
            rows = chunk
            logits = _logits(model, self.params, jnp.asarray(_pad(part, rows, d)))
            out.append(np.asarray(jax.nn.softmax(logits, axis=-1), np.float64)[: part.shape[0]])
        return np.concatenate(out)[: Xs.shape[0]]

    def predict(self, X) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


def _scaler(X):
    X = np.asarray(X, np.float64)
    med = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    Xi = np.where(np.isfinite(X), X, med)
    mean = Xi.mean(axis=0)
    scale = Xi.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return med, mean, scale


def fit_mlp(X, y, n_classes: int | None = None, config: MLPConfig = MLPConfig(), seed: int = 0,
            progress=None, min_rows: int = 0, min_cols: int = 0) -> FittedMLP:
    """Train the MLP on ``(X, y)`` (labels 0..n_classes-1) with early stopping; see the module doc.

    ``min_rows`` / ``min_cols``: pad the device arrays to at least this many rows / feature columns
    (zero columns do not change the network's function), so that fits of different sizes and
    mappings reuse one compiled epoch.
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y).astype(np.int64)
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must be (n, d) with n = len(y); got X {X.shape}, y {y.shape}")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if np.unique(y).size < 2:
        raise ValueError("MLP training needs at least two classes in y")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    tr, va = stratified_holdout(y, config.val_fraction, seed)
    if tr.size < 2 or va.size < 1:
        raise ValueError(f"too few rows to train with a validation fraction: {y.size}")
    med, mean, scale = _scaler(X[tr])
    Xs = ((np.where(np.isfinite(X), X, med) - mean) / scale).astype(np.float32)
    d = _dbucket(max(X.shape[1], min_cols))
    bs = int(min(config.batch_size, tr.size))
    cap = _bucket(max(tr.size, min_rows))
    vcap = cap
    Xtr = jnp.asarray(_pad(Xs[tr], cap, d))
    ytr = jnp.asarray(np.pad(y[tr], (0, cap - tr.size)).astype(np.int32))
    wtr = jnp.asarray(np.pad(balanced_weights(y[tr], n_classes), (0, cap - tr.size)).astype(np.float32))
    Xva = jnp.asarray(_pad(Xs[va], vcap, d))
    yva = jnp.asarray(np.pad(y[va], (0, vcap - va.size)).astype(np.int32))
    mva = jnp.asarray((np.arange(vcap) < va.size).astype(np.float32))
    n_valid = jnp.asarray(tr.size, jnp.int32)

    model = MLP(tuple(config.hidden), n_classes, config.activation)
    lr, alpha = float(config.lr), float(config.alpha)
    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    params, opt_state = _init(model, lr, init_key, Xtr)

    best, best_loss, best_params, since = -np.inf, np.inf, params, 0
    hist = {"loss": [], "val_f1": [], "val_loss": [], "epoch_s": []}
    for ep in range(config.max_epochs):
        key, sub = jax.random.split(key)
        t0 = time.perf_counter()
        params, opt_state, loss = _epoch(model, lr, alpha, bs, params, opt_state, sub, Xtr, ytr, wtr, n_valid)
        loss = float(loss)
        hist["epoch_s"].append(time.perf_counter() - t0)
        f1, vloss = (float(v) for v in _score(model, params, Xva, yva, mva))
        hist["loss"].append(loss)
        hist["val_f1"].append(f1)
        hist["val_loss"].append(vloss)
        # improvement: a higher validation macro-F1, or (once F1 saturates) an equal F1 with a lower
        # validation cross-entropy
        if f1 > best + config.tol or (f1 >= best - 1e-12 and vloss < best_loss - config.tol):
            best, best_loss, best_params, since = max(f1, best), vloss, params, 0
        else:
            since += 1
        if progress is not None:
            progress(ep + 1, loss, f1)
        if not np.isfinite(loss) or since >= config.n_iter_no_change:
            break
    hist["best_val_f1"] = float(best)
    hist["epochs"] = len(hist["loss"])
    hist["n_train"] = int(tr.size)
    hist["padded_cols"] = int(d)
    hist["samples_per_epoch"] = int((tr.size // bs) * bs)
    return FittedMLP(best_params, config, n_classes, med, mean, scale, hist)


def search_mlp(X, y, n_classes: int, n_trials: int = 4, seed: int = 0, max_rows: int = 20000,
               base: MLPConfig = MLPConfig(), space=None, **fit_kw) -> tuple[MLPConfig, list]:
    """Random search over the Table II space (``n_trials`` distinct combinations, seeded): each trial
    is trained on a stratified subsample of at most ``max_rows`` rows and scored by its best
    validation macro-F1.  Returns ``(best_config, trials)``."""
    space = TABLE_II_MLP if space is None else space
    combos = list(itertools.product(*space.values()))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(combos), size=min(n_trials, len(combos)), replace=False)
    y = np.asarray(y)
    if y.size > max_rows:
        _, sub = stratified_holdout(y, max_rows / y.size, seed)
    else:
        sub = np.arange(y.size)
    trials = []
    for i in pick:
        cfg = replace(base, **dict(zip(space.keys(), combos[i])))
        fitted = fit_mlp(X[sub], y[sub], n_classes, cfg, seed=seed, **fit_kw)
        trials.append({**asdict(cfg), "val_f1": fitted.history["best_val_f1"],
                       "epochs": fitted.history["epochs"]})
    best = max(trials, key=lambda t: t["val_f1"])
    keep = {k: best[k] for k in asdict(base)}
    keep["hidden"] = tuple(keep["hidden"])
    return MLPConfig(**keep), trials
