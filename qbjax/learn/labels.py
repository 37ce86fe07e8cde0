"""Ergotropy-regime labels (paper 000 Sec. III B).

Class 0 is the rule ``ratio < 1``.  The DEV rows with ``ratio >= 1`` are standardised
(``z = (r - mean) / std``, population std like scikit-learn's ``StandardScaler``) and clustered by
1-D k-means for K = 2..10; K is the silhouette-optimal one (exact 1-D silhouette on every such DEV
row, O(K N log N) with sorted prefix sums), and the within-cluster sum of squares (WCSS) elbow when
the silhouette has no clear maximum.  1-D k-means clusters are intervals, so the fitted model is a
list of thresholds on the ratio (midpoints between adjacent centres, the k-means decision rule);
these DEV thresholds are applied unchanged to TEST (no leakage).  Classes are ordered by ratio:
1 = the lowest ``ratio >= 1`` cluster, ..., K = the highest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelModel", "choose_k", "elbow_k", "fit_labels", "kmeans_1d", "silhouette_1d"]


def _segments_stats(s1, s2, starts, ends):
    cnt = ends - starts
    tot = s1[ends] - s1[starts]
    sq = s2[ends] - s2[starts]
    return cnt, tot, sq


def _lloyd_sorted(xs, s1, s2, centers, max_iter=300):
    """Lloyd iterations on sorted 1-D data; clusters are the intervals between centre midpoints."""
    centers = np.sort(centers)
    bounds_prev = None
    for _ in range(max_iter):
        mids = 0.5 * (centers[1:] + centers[:-1])
        cuts = np.searchsorted(xs, mids, side="right")
        if bounds_prev is not None and np.array_equal(cuts, bounds_prev):
            break
        bounds_prev = cuts
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [xs.size]])
        cnt, tot, _ = _segments_stats(s1, s2, starts, ends)
        new = np.where(cnt > 0, tot / np.maximum(cnt, 1), centers)
        centers = np.sort(new)
    mids = 0.5 * (centers[1:] + centers[:-1])
    cuts = np.searchsorted(xs, mids, side="right")
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [xs.size]])
    cnt, tot, sq = _segments_stats(s1, s2, starts, ends)
    wcss = float(np.sum(sq - np.where(cnt > 0, tot**2 / np.maximum(cnt, 1), 0.0)))
    return centers, max(wcss, 0.0), cnt


def kmeans_1d(x, k: int, seed: int = 0, n_init: int = 5):
    """1-D k-means: ``(centers (k,) ascending, wcss, labels)``; labels 0..k-1 in centre order.

    Exact Lloyd iterations on the sorted data (each step O(k log N) with prefix sums); the best of a
    quantile start and ``n_init - 1`` seeded k-means++ starts (lowest WCSS).
    """
    x = np.asarray(x, np.float64).reshape(-1)
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    if np.unique(x).size < k:
        raise ValueError(f"k-means with k={k} needs at least {k} distinct values; got {np.unique(x).size}")
    xs = np.sort(x)
    s1 = np.concatenate([[0.0], np.cumsum(xs)])
    s2 = np.concatenate([[0.0], np.cumsum(xs * xs)])
    rng = np.random.default_rng(seed)
    starts = [np.quantile(xs, (np.arange(k) + 0.5) / k)]
    for _ in range(max(n_init - 1, 0)):  # k-means++
        c = [xs[rng.integers(xs.size)]]
        for _ in range(k - 1):
            d2 = np.min((xs[:, None] - np.asarray(c)[None, :]) ** 2, axis=1)
            total = d2.sum()
            c.append(xs[rng.integers(xs.size)] if total <= 0 else xs[rng.choice(xs.size, p=d2 / total)])
        starts.append(np.asarray(c))
    best = None
    for c0 in starts:
        centers, wcss, cnt = _lloyd_sorted(xs, s1, s2, np.asarray(c0, np.float64))
        if np.all(cnt > 0) and (best is None or wcss < best[1]):
            best = (centers, wcss)
    if best is None:  # every start left an empty cluster: fall back to the quantile start's result
        best = _lloyd_sorted(xs, s1, s2, starts[0])[:2]
    centers, wcss = best
    labels = np.searchsorted(0.5 * (centers[1:] + centers[:-1]), x, side="right")
    return centers, wcss, labels


def silhouette_1d(x, labels) -> float:
    """Exact mean silhouette of 1-D data (Euclidean = absolute distance), O(K N log N).

    For every cluster C the sorted values and their prefix sums give, for each point x_i, the sum
    ``sum_{j in C} |x_i - x_j|`` in O(log |C|).  Same conventions as scikit-learn's
    ``silhouette_score``: a(i) averages over the other members of i's cluster, s(i) = 0 for a
    singleton cluster.  Needs 2 <= number of clusters <= N - 1.
    """
    x = np.asarray(x, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if x.size != labels.size:
        raise ValueError(f"x and labels differ in length: {x.size} vs {labels.size}")
    uniq, inv = np.unique(labels, return_inverse=True)
    n, k = x.size, uniq.size
    if not 2 <= k <= n - 1:
        raise ValueError(f"silhouette needs 2 <= n_clusters <= n_samples - 1; got {k} clusters, {n} samples")
    x = x - np.median(x)  # smaller magnitudes: less cancellation in the prefix sums
    a = np.zeros(n)
    b = np.full(n, np.inf)
    sizes = np.bincount(inv, minlength=k)
    for c in range(k):
        xc = np.sort(x[inv == c])
        pref = np.concatenate([[0.0], np.cumsum(xc)])
        m = np.searchsorted(xc, x, side="right")
        dist_sum = x * m - pref[m] + (pref[-1] - pref[m]) - x * (xc.size - m)
        own = inv == c
        if xc.size > 1:
            a[own] = dist_sum[own] / (xc.size - 1)
        other = ~own
        b[other] = np.minimum(b[other], dist_sum[other] / xc.size)
    denom = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(denom > 0, (b - a) / denom, 0.0)
    s[sizes[inv] == 1] = 0.0
    return float(np.mean(s))


def elbow_k(ks, wcss) -> int:
    """The elbow of a decreasing WCSS curve: the K farthest below the chord joining its ends
    (curve and chord normalised to [0, 1])."""
    ks = np.asarray(ks, np.float64)
    w = np.asarray(wcss, np.float64)
    if ks.size < 3:
        return int(ks[0])
    xk = (ks - ks[0]) / (ks[-1] - ks[0])
    span = w[0] - w[-1]
    yw = (w - w[-1]) / span if span > 0 else np.zeros_like(w)
    chord = 1.0 - xk
    return int(ks[int(np.argmax(chord - yw))])


def choose_k(z, ks=range(2, 11), seed: int = 0, tol: float = 1e-3) -> dict:
    """K-means for every K in ``ks``; K by silhouette, elbow fallback.

    The silhouette maximum counts as clear when it is positive and beats every other K by more than
    ``tol``; otherwise the WCSS elbow decides.  Returns a dict with ``k``, ``rule``
    ("silhouette" | "elbow"), ``ks``, ``silhouette``, ``wcss``, ``centers`` (per K).
    """
    z = np.asarray(z, np.float64).reshape(-1)
    n_distinct = np.unique(z).size
    ks = [int(k) for k in ks if 2 <= k <= min(n_distinct, z.size - 1)]
    if not ks:
        raise ValueError(f"too few distinct ratio >= 1 values to cluster: {n_distinct}")
    sil, wcss, centers = [], [], []
    for k in ks:
        c, w, lab = kmeans_1d(z, k, seed=seed)
        centers.append(c)
        wcss.append(w)
        sil.append(silhouette_1d(z, lab) if np.unique(lab).size >= 2 else -1.0)
    sil_a = np.asarray(sil)
    i = int(np.argmax(sil_a))
    others = np.delete(sil_a, i)
    clear = sil_a[i] > 0 and (others.size == 0 or sil_a[i] - others.max() > tol)
    k = ks[i] if clear else elbow_k(ks, wcss)
    return {"k": k, "rule": "silhouette" if clear else "elbow", "ks": ks, "silhouette": sil,
            "wcss": wcss, "centers": centers}


@dataclass
class LabelModel:
    """Fitted labelling: class 0 = ratio < 1, classes 1..K by ``thresholds`` on the ratio."""

    mean: float
    std: float
    thresholds: np.ndarray  # (K-1,) ascending, in ratio units
    k: int
    selection: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return self.k + 1

    def apply(self, ratio) -> np.ndarray:
        """Class of every ratio (int64)."""
        r = np.asarray(ratio, np.float64)
        if not np.all(np.isfinite(r)):
            raise ValueError("ratio has non-finite values; filter the dataset first")
        cls = 1 + np.searchsorted(self.thresholds, r, side="right")
        return np.where(r < 1.0, 0, cls).astype(np.int64)

    def to_dict(self) -> dict:
        sel = {k: (np.asarray(v).tolist() if k != "centers" else [np.asarray(c).tolist() for c in v])
               for k, v in self.selection.items()}
        return {"mean": self.mean, "std": self.std, "thresholds": np.asarray(self.thresholds).tolist(),
                "k": self.k, "n_classes": self.n_classes, "selection": sel}


def fit_labels(ratio_dev, ks=range(2, 11), seed: int = 0, tol: float = 1e-3) -> LabelModel:
    """Fit the labelling on the DEV ratios (see the module docstring)."""
    r = np.asarray(ratio_dev, np.float64).reshape(-1)
    if not np.all(np.isfinite(r)):
        raise ValueError("ratio has non-finite values; filter the dataset first")
    hi = r[r >= 1.0]
    if hi.size < 3:
        raise ValueError(f"too few DEV rows with ratio >= 1 to cluster: {hi.size}")
    mean, std = float(hi.mean()), float(hi.std())
    if not std > 0:
        raise ValueError("the DEV ratios >= 1 are all equal; nothing to cluster")
    z = (hi - mean) / std
    sel = choose_k(z, ks=ks, seed=seed, tol=tol)
    centers = sel["centers"][sel["ks"].index(sel["k"])]
    thresholds = 0.5 * (centers[1:] + centers[:-1]) * std + mean
    return LabelModel(mean=mean, std=std, thresholds=np.asarray(thresholds), k=sel["k"], selection=sel)
