"""Cavity-coupled four-level quantum battery (paper 000: Thakuria, Kalita, Sarmah, Goswami,
"Coherence in the Leak and Storage Kurtosis control Ergotropy in Quantum Batteries").

Levels |1>, |2> (energy ``eps``, degenerate), |b> (``eps_b``), |a> (``eps_a``), eps < eps_b < eps_a
(units: hbar = k_B = 1; energies, temperatures and rates in one common unit).  The hot bath (``T_h``)
drives 1,2 <-> a, the cold "leak" bath (``T_c``) drives 1,2 <-> b, the storage cavity (``T_l``,
coupling ``g``) couples a <-> b.  Symmetric couplings Gamma_1x = Gamma_2x = r, noise-induced coherence
Gamma_12x = r p_x (x = h, c), pure dephasing ``tau``.  Occupations

    n_h = n(eps_a - eps, T_h),  n_c = n(eps_b - eps, T_c),  n_l = n(eps_a - eps_b, T_l),
    n(w, T) = 1 / (exp(w / T) - 1),  nt_x = 1 + n_x,
    Gamma12 = r (p_h n_h + p_c n_c) / 2,  gbar = r (n_h + n_c).

State vector x = (rho11, rho22, rho_bb, rho_aa, Re rho12); trace functional t = (1, 1, 1, 1, 0).
Tilted generator (SPEC 4.1), lam counting quanta emitted from the storage pair into the cavity
(a -> b counts +1, b -> a counts -1):

    row rho11 : [-r(n_h+n_c),  0,           r nt_c,                 r nt_h,                 -2 Gamma12   ]
    row rho22 : [0,            -r(n_h+n_c), r nt_c,                 r nt_h,                 -2 Gamma12   ]
    row rho_bb: [r n_c,        r n_c,       -(2 r nt_c + g^2 n_l),  g^2 nt_l e^{+lam},      2 r p_c n_c  ]
    row rho_aa: [r n_h,        r n_h,       g^2 n_l e^{-lam},       -(2 r nt_h + g^2 nt_l), 2 r p_h n_h  ]
    row Re12  : [-Gamma12,     -Gamma12,    r p_c nt_c,             r p_h nt_h,             -(gbar + tau)]

ERRATA (SPEC 4.1).  The printed Eq. (1) swaps hot and cold in the emission and loss entries, swaps n_l
and 1 + n_l on the cavity transition and drops factors of 2 in the coherence column; as printed it
conserves no probability (the coherence column sums to -r p_c n_c) and breaks detailed balance.  The
matrix above is fixed by trace preservation, per-bath detailed balance, the paper's definitions of n_h
and n_c and its cycle affinity F.  ``conventions="physical"`` (default) uses it.

``conventions="published"`` keeps the printed Eq. (1) entry by entry (Gamma_x = 2r, Gamma_12x = r p_x,
Gamma12 = (Gamma_12c n_c + Gamma_12h n_h)/2, gbar = r (n_h + n_c)).  That matrix is not trace
preserving, so its "steady state" is the right eigenvector of the eigenvalue s0 with the largest real
part, normalised to unit population, and its cumulants are the derivatives of that eigenvalue
(Rayleigh-Schroedinger with the left and right eigenvectors, :func:`qbjax.fcs.cumulants_from_derivatives`).
Only there qbjax calls a non-symmetric eigensolver, ``jnp.linalg.eigvals`` (CPU: LAPACK geev), and
only for the eigenvalue: the eigenvectors come from two linear solves (:func:`qbjax.steady.null_vector`
on L0 - s0 and its transpose), so the published path is differentiable too.  In about 13% of the
Table-I configurations the top eigenvalue of the printed matrix is a complex-conjugate pair; qbjax
then takes the member with Im s0 > 0 and reports real parts (steady state and cumulants), a
documented choice (the paper assumes a real dominant eigenvalue).

Outputs per configuration (SPEC 4.1/6): steady state; rho = [[rho11, Re12, 0, 0], [Re12, rho22, 0, 0],
0 (+) rho_bb (+) rho_aa] in the basis (1, 2, b, a), H = diag(eps, eps, eps_b, eps_a); ergotropy E
(core :func:`qbjax.ergotropy`, eigenvalues only); the coherence-free baseline E0 (p_c = p_h = tau = 0)
and ratio = E / E0; cumulants j1..j4 and baseline j0_1..j0_4 (core :func:`qbjax.fcs`, exact), C_i =
j_i / j0_i; Q_h = eps_a - eps, Q_c = eps_b - eps, F = nt_c n_h nt_l / (n_c nt_h n_l),
W = Q_h - T_c ln F, eta = W / Q_h.  No values are filtered here (E0 = 0 gives ratio = +-inf or NaN;
the sweep's filters of SPEC 4.1 decide).

The batched entry point :func:`four_level_features` computes every dataset column for arrays of
parameters with ``jit(vmap(...))``: per configuration two 5x5 LU solves (physical steady states), two
LU factorisations for the Rayleigh-Schroedinger resolvent and two 4x4 ``eigvalsh`` (ergotropies); no
finite difference and, in the physical conventions, no non-symmetric eigensolver.

Time evolution (paper Fig. 1): :meth:`FourLevelBattery.evolve` propagates the 5-vector exactly with
the matrix exponential, x(t) = expm(L(0) t) x0.  The paper does not give its initial state; qbjax's
default is the lower manifold rho11 = rho22 = 1/2 (no coherence, empty storage levels), a passive state
(E(0) = E0(0) = 0).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from .._validate import as_float, check, is_concrete
from ..ergotropy import energy as _energy
from ..ergotropy import ergotropy as _ergotropy
from ..fcs import cumulants as _cumulants
from ..fcs import cumulants_from_derivatives, generator_derivatives
from ..steady import null_vector
from ..thermal import bose_einstein

__all__ = [
    "CONVENTIONS",
    "FEATURES",
    "PARAMETERS",
    "FourLevelBattery",
    "TRACE",
    "four_level_features",
    "occupations",
    "physical_generator",
    "published_generator",
    "validate_parameters",
]

#: the nine configuration parameters (dataset columns, SPEC 6)
PARAMETERS = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "eps_b", "eps_a")
#: every dataset column of SPEC 6 except ``config_id``
FEATURES = PARAMETERS + (
    "E", "E0", "ratio",
    "j1", "j2", "j3", "j4",
    "j0_1", "j0_2", "j0_3", "j0_4",
    "C1", "C2", "C3", "C4",
    "Q_h", "Q_c", "W", "F", "eta",
)  # fmt: skip
CONVENTIONS = ("physical", "published")
#: trace functional on x = (rho11, rho22, rho_bb, rho_aa, Re rho12)
TRACE = (1.0, 1.0, 1.0, 1.0, 0.0)


def _trace(dtype=None):
    return jnp.asarray(TRACE, dtype=dtype or jnp.result_type(float))


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

# (name, predicate on a dict of numpy arrays, message); eps_b/eps_a compare with the level below
_RULES = (
    ("T_c", lambda p: p["T_c"] > 0, "T_c (cold-bath temperature) must be > 0"),
    ("T_h", lambda p: p["T_h"] > 0, "T_h (hot-bath temperature) must be > 0"),
    ("T_l", lambda p: p["T_l"] > 0, "T_l (cavity temperature) must be > 0"),
    ("p_c", lambda p: (p["p_c"] >= 0) & (p["p_c"] <= 1), "p_c must lie in [0, 1]"),
    ("p_h", lambda p: (p["p_h"] >= 0) & (p["p_h"] <= 1), "p_h must lie in [0, 1]"),
    ("tau", lambda p: p["tau"] >= 0, "tau (dephasing) must be >= 0"),
    ("eps_b", lambda p: p["eps_b"] > p["eps"], "eps_b must be > eps (levels eps < eps_b < eps_a)"),
    ("eps_a", lambda p: p["eps_a"] > p["eps_b"], "eps_a must be > eps_b (levels eps < eps_b < eps_a)"),
    ("r", lambda p: p["r"] > 0, "r (bath coupling rate) must be > 0"),
    ("g", lambda p: p["g"] >= 0, "g (cavity coupling) must be >= 0"),
)


def validate_parameters(params: dict) -> None:
    """Raise ``ValueError`` naming the first invalid parameter (concrete values only).

    ``params`` maps the nine parameter names (and optionally ``r``, ``g``) to numbers or arrays;
    traced values are skipped (the model methods then use ``eqx.error_if``).
    """
    p = {k: v for k, v in params.items()}
    p.setdefault("r", 1.0)
    p.setdefault("g", 1.0)
    for name, ok, message in _RULES:
        needed = [name] + (["eps"] if name == "eps_b" else ["eps_b"] if name == "eps_a" else [])
        if not all(is_concrete(p[k]) for k in needed):
            continue
        arrs = {k: np.asarray(p[k], dtype=float) for k in needed}
        for k, a in arrs.items():
            if np.any(np.isnan(a)):
                raise ValueError(f"{k} contains NaN")
        bad = ~np.asarray(ok(arrs))
        if np.any(bad):
            first = np.asarray(arrs[name]).reshape(-1)[np.argmax(bad.reshape(-1))] if bad.ndim else arrs[name]
            raise ValueError(f"{message}; got {name} = {float(first)!r}")


def _checked(params: dict) -> dict:
    """The parameters with ``eqx.error_if`` guards for traced values (concrete ones: ValueError)."""
    validate_parameters(params)
    out = dict(params)
    for name, ok, message in _RULES:
        needed = [name] + (["eps"] if name == "eps_b" else ["eps_b"] if name == "eps_a" else [])
        if all(is_concrete(params[k]) for k in needed):
            continue
        out[name] = check(out[name], ok(out), message)
    return out


def sample_table_one(n: int, seed: int) -> dict:
    """``n`` seeded random configurations from the paper's Table I ranges (NumPy arrays).

    T_c, T_h, T_l ~ U[0.1, 7]; p_c, p_h ~ U[0.1, 1]; tau ~ U[0.01, 2]; eps ~ U[0.01, 2],
    eps_b = eps + U[0.01, 2], eps_a = eps_b + U[0.01, 2].
    """
    rng = np.random.default_rng(seed)
    p = {k: rng.uniform(0.1, 7.0, n) for k in ("T_c", "T_h", "T_l")}
    p["p_c"] = rng.uniform(0.1, 1.0, n)
    p["p_h"] = rng.uniform(0.1, 1.0, n)
    p["tau"] = rng.uniform(0.01, 2.0, n)
    p["eps"] = rng.uniform(0.01, 2.0, n)
    p["eps_b"] = p["eps"] + rng.uniform(0.01, 2.0, n)
    p["eps_a"] = p["eps_b"] + rng.uniform(0.01, 2.0, n)
    return p


# ---------------------------------------------------------------------------------------------
# generators (pure functions, broadcasting over leading dimensions)
# ---------------------------------------------------------------------------------------------


def occupations(T_c, T_h, T_l, eps, eps_b, eps_a):
    """(n_h, n_c, n_l) = n(eps_a - eps, T_h), n(eps_b - eps, T_c), n(eps_a - eps_b, T_l)."""
    return (
        bose_einstein(eps_a - eps, T_h),
        bose_einstein(eps_b - eps, T_c),
        bose_einstein(eps_a - eps_b, T_l),
    )


def _assemble(rows):
    """(5, 5) nested list of broadcastable arrays -> (..., 5, 5)."""
    flat = [jnp.asarray(e) for row in rows for e in row]
    shape = jnp.broadcast_shapes(*(e.shape for e in flat))
    dtype = jnp.result_type(*flat, float)
    flat = [jnp.broadcast_to(e, shape).astype(dtype) for e in flat]
    return jnp.stack(flat, axis=-1).reshape(shape + (5, 5))


def physical_generator(lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r=1.0, g=1.0):
    """The corrected tilted generator of SPEC 4.1 (module docstring), shape (..., 5, 5)."""
    n_h, n_c, n_l = occupations(T_c, T_h, T_l, eps, eps_b, eps_a)
    th, tc, tl = 1 + n_h, 1 + n_c, 1 + n_l
    G12 = r * (p_h * n_h + p_c * n_c) / 2
    gbar = r * (n_h + n_c)
    g2 = g * g
    lam = jnp.asarray(lam)
    z = jnp.zeros_like(n_h)
    return _assemble([
        [-gbar, z, r * tc, r * th, -2 * G12],
        [z, -gbar, r * tc, r * th, -2 * G12],
        [r * n_c, r * n_c, -(2 * r * tc + g2 * n_l), g2 * tl * jnp.exp(lam), 2 * r * p_c * n_c],
        [r * n_h, r * n_h, g2 * n_l * jnp.exp(-lam), -(2 * r * th + g2 * tl), 2 * r * p_h * n_h],
        [-G12, -G12, r * p_c * tc, r * p_h * th, -(gbar + tau)],
    ])  # fmt: skip


def published_generator(lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r=1.0, g=1.0):
    """Eq. (1) of the paper exactly as printed (with Gamma_1x = Gamma_2x = r, Gamma_x = 2 r,
    Gamma_12x = r p_x, Gamma12 = (Gamma_12c n_c + Gamma_12h n_h)/2, gbar = r (n_h + n_c)).

    Not trace preserving (the coherence column sums to -r p_c n_c); kept for ``conventions="published"``.
    """
    n_h, n_c, n_l = occupations(T_c, T_h, T_l, eps, eps_b, eps_a)
    th, tc, tl = 1 + n_h, 1 + n_c, 1 + n_l
    G12 = r * (p_c * n_c + p_h * n_h) / 2
    gbar = r * (n_h + n_c)
    g2 = g * g
    lam = jnp.asarray(lam)
    z = jnp.zeros_like(n_h)
    return _assemble([
        [-r * (n_h + n_c), z, r * th, r * tc, -2 * G12],
        [z, -r * (n_h + n_c), r * th, r * tc, -2 * G12],
        [r * n_c, r * n_c, -(2 * r * th) - g2 * tl, g2 * n_l * jnp.exp(-lam), r * p_c * n_c],
        [r * n_h, r * n_h, g2 * tl * jnp.exp(lam), -g2 * n_l - 2 * r * tc, 2 * r * p_h * n_h],
        [-G12, -G12, r * p_h * th, 2 * r * p_c * tc, -gbar - tau],
    ])  # fmt: skip


_GENERATORS = {"physical": physical_generator, "published": published_generator}


# ---------------------------------------------------------------------------------------------
# steady state, cumulants, ergotropy (pure functions of a parameter dict)
# ---------------------------------------------------------------------------------------------


def _generator_fn(p: dict, conventions: str):
    args = tuple(p[k] for k in PARAMETERS) + (p["r"], p["g"])
    gen = _GENERATORS[conventions]
    return lambda lam: gen(lam, *args)


def _published_triple(L0):
    """(s0, right, left) for the eigenvalue of L0 with the largest real part (Im s0 >= 0 on ties).

    s0 from ``jnp.linalg.eigvals`` (the only non-symmetric eigensolver in qbjax's models); right and
    left eigenvectors by linear solves (:func:`qbjax.steady.null_vector`), normalised t.right = 1
    (unit population) and left.right = 1.
    """
    w = jnp.linalg.eigvals(L0)
    k = jnp.argmax(jnp.real(w), axis=-1)
    s0 = jnp.take_along_axis(w, k[..., None], axis=-1)[..., 0]
    s0 = jnp.real(s0) + 1j * jnp.abs(jnp.imag(s0))
    A = L0.astype(s0.dtype) - s0[..., None, None] * jnp.eye(5, dtype=s0.dtype)
    right = null_vector(A, _trace(s0.dtype))
    # left: A^T l = 0 with the constraint l . right = 1 (the normalisation RS needs).  Using `right`
    # as the constraint row also puts the second LU after the first on one dependency chain
    # (see the note on LAPACK calls in _features).
    left = _null_vector_rows(jnp.swapaxes(A, -1, -2), right)
    return s0, right, left


# null_vector with a per-matrix constraint vector t of shape (..., n)
_null_vector_rows = jnp.vectorize(null_vector, signature="(n,n),(n)->(n)")


def _state_and_cumulants(p: dict, conventions: str, order: int):
    """Steady-state 5-vector (real) and cumulants j1..j_order (real) of one parameter dict."""
    gen = _generator_fn(p, conventions)
    derivs = generator_derivatives(gen, order)
    if conventions == "physical":
        t = _trace(derivs[0].dtype)
        x = null_vector(derivs[0], t)
        js = cumulants_from_derivatives(derivs, x, t)
        return x, js
    s0, right, left = _published_triple(derivs[0])
    js = cumulants_from_derivatives(derivs, right, left, s0)
    return jnp.real(right), jnp.real(js)


def _density_matrix(x):
    x = jnp.asarray(x)
    z = jnp.zeros_like(x[..., 0])
    r11, r22, rbb, raa, c = (x[..., i] for i in range(5))
    rows = [[r11, c, z, z], [c, r22, z, z], [z, z, rbb, z], [z, z, z, raa]]
    return jnp.stack([e for row in rows for e in row], axis=-1).reshape(x.shape[:-1] + (4, 4))


def _hamiltonian(eps, eps_b, eps_a):
    d = jnp.stack(jnp.broadcast_arrays(eps, eps, eps_b, eps_a), axis=-1)
    return d[..., :, None] * jnp.eye(4, dtype=d.dtype)


def _block_ergotropy(x, eps, eps_b, eps_a):
    """Ergotropy of the block-diagonal rho of x for H = diag(eps, eps, eps_b, eps_a), in closed form.

    The spectrum of rho is m +- sqrt(d^2 + c^2) (m, d = (rho11 +- rho22)/2, c = Re rho12; the paper's
    rho_+- = rho11 +- rho12 when rho11 = rho22), rho_bb, rho_aa; the passive energy pairs it in
    descending order with the ascending levels of H.  Same value as :func:`qbjax.ergotropy` (tested)
    without a batched LAPACK call (see :func:`_features`) and with finite gradients at c = d = 0.
    """
    r11, r22, rbb, raa, c = (x[..., i] for i in range(5))
    m = (r11 + r22) / 2
    d = (r11 - r22) / 2
    s = d * d + c * c
    root = jnp.where(s > 0, jnp.sqrt(jnp.where(s > 0, s, 1.0)), 0.0)
    r = jnp.stack([m + root, m - root, rbb, raa], axis=-1)
    e = jnp.sort(jnp.stack(jnp.broadcast_arrays(eps, eps, eps_b, eps_a), axis=-1), axis=-1)
    energy = eps * (r11 + r22) + eps_b * rbb + eps_a * raa
    return energy - jnp.sum(jnp.sort(r, axis=-1)[..., ::-1] * e, axis=-1)


def _with_baseline(p: dict) -> dict:
    """Parameters stacked on a new last axis: [..., 0] the battery, [..., 1] its baseline."""
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in p.values()))
    out = {}
    for k, v in p.items():
        v = jnp.broadcast_to(jnp.asarray(v), shape)
        b = jnp.zeros_like(v) if k in ("p_c", "p_h", "tau") else v
        out[k] = jnp.stack([v, b], axis=-1)
    return out


def _thermo(p: dict) -> dict:
    n_h, n_c, n_l = occupations(p["T_c"], p["T_h"], p["T_l"], p["eps"], p["eps_b"], p["eps_a"])
    Q_h = p["eps_a"] - p["eps"]
    Q_c = p["eps_b"] - p["eps"]
    # F = nt_c n_h nt_l / (n_c nt_h n_l); ln F as a sum of logs (no overflow for tiny n)
    log_F = (jnp.log1p(n_c) - jnp.log(n_c)) + (jnp.log(n_h) - jnp.log1p(n_h)) + (jnp.log1p(n_l) - jnp.log(n_l))
    W = Q_h - p["T_c"] * log_F
    return {"Q_h": Q_h, "Q_c": Q_c, "W": W, "F": jnp.exp(log_F), "eta": W / Q_h}


def _features(p: dict, conventions: str = "physical", order: int = 4) -> dict:
    """Every SPEC-6 column for a parameter dict (arrays broadcast; no validation).

    The battery and its baseline are solved as one stacked batch, so that every batched LAPACK call
    (LU, triangular solves, and eigvals in the published conventions) lies on a single dependency
    chain and no two run at once.  Reason (jaxlib 0.10.2, CPU): a batched LAPACK kernel started on an
    XLA intra-op pool worker splits its batch over that same pool (``jax::ParallelBatchMap``) and
    blocks until the pieces finish; two such calls ready at the same time can occupy every worker of
    a 2-core pool and deadlock (observed from about 2,000 configurations with the battery and its
    baseline solved separately; native stacks in ``ParallelBatchMap`` <- ``lapack_dgetrf_ffi``).
    ``jax.lax.optimization_barrier`` does not prevent it (XLA CPU drops it before scheduling).  For
    the same reason the ergotropies use the closed-form spectrum of the block-diagonal rho
    (:func:`_block_ergotropy`) instead of two independent batched ``eigvalsh`` calls.
    """
    pb = _with_baseline(p)
    x, js = _state_and_cumulants(pb, conventions, order)  # (..., 2, 5), (..., 2, order)
    E2 = _block_ergotropy(x, pb["eps"], pb["eps_b"], pb["eps_a"])
    E, E0 = E2[..., 0], E2[..., 1]
    out = {k: jnp.asarray(p[k]) for k in PARAMETERS}
    out["E"] = E
    out["E0"] = E0
    out["ratio"] = E / E0
    for i in range(order):
        out[f"j{i + 1}"] = js[..., 0, i]
        out[f"j0_{i + 1}"] = js[..., 1, i]
        out[f"C{i + 1}"] = js[..., 0, i] / js[..., 1, i]
    out.update(_thermo(p))
    return out


def _steady(p: dict, conventions: str):
    L0 = _generator_fn(p, conventions)(0.0)
    if conventions == "physical":
        return null_vector(L0, _trace(L0.dtype))
    return jnp.real(_published_triple(L0)[1])


def _cumulants_physical(p: dict, order: int):
    return _cumulants(_generator_fn(p, "physical"), order, trace=_trace())


def _evolve(p: dict, conventions: str, ts, x0):
    L0 = _generator_fn(p, conventions)(0.0)
    ts = jnp.asarray(ts, dtype=L0.dtype)
    props = jsl.expm(L0[..., None, :, :] * ts[:, None, None])
    return jnp.einsum("...tij,...j->...ti", props, jnp.asarray(x0, dtype=L0.dtype))


def _fig1(p: dict, conventions: str, ts, x0) -> dict:
    """Implementation of :meth:`FourLevelBattery.fig1_curves` (pure function, jitted below)."""
    pb = _with_baseline(p)
    L0 = _generator_fn(pb, conventions)(0.0)  # (..., 2, 5, 5)
    ts = jnp.asarray(ts, dtype=L0.dtype)
    x0 = jnp.asarray(x0, dtype=L0.dtype)
    props = jsl.expm(L0[..., None, :, :] * ts[:, None, None])  # (..., 2, n_t, 5, 5)
    xs = jnp.einsum("...tij,...j->...ti", props, x0[..., None, :])  # x0 shared by both
    xs = xs / jnp.sum(xs[..., :4], axis=-1, keepdims=True)
    x, xb = xs[..., 0, :, :], xs[..., 1, :, :]
    eps, eb, ea = (jnp.asarray(p[k])[..., None] for k in ("eps", "eps_b", "eps_a"))
    low = x[..., 0] + x[..., 1]
    H_c = eps * low + ea * x[..., 3]
    H_s = ea * x[..., 3] + eb * x[..., 2]
    H_L = eps * low + eb * x[..., 2]
    H = _hamiltonian(p["eps"], p["eps_b"], p["eps_a"])[..., None, :, :]
    E = _ergotropy(_density_matrix(x), H)
    E0 = _ergotropy(_density_matrix(xb), H)
    ok = E0 > 1e-12
    return {
        "H_c": H_c, "H_s": H_s, "H_L": H_L,
        "s_over_c": H_s / H_c, "L_over_s": H_L / H_s, "L_over_c": H_L / H_c,
        "E": E, "E0": E0, "ratio": jnp.where(ok, E / jnp.where(ok, E0, 1.0), jnp.nan),
    }  # fmt: skip


# jitted entry points of the model methods (nested jit is inlined under an outer jit/vmap/grad)
_jit_steady = jax.jit(_steady, static_argnums=1)
_jit_cumulants_physical = jax.jit(_cumulants_physical, static_argnums=1)
_jit_state_and_cumulants = jax.jit(_state_and_cumulants, static_argnums=(1, 2))
_jit_features = jax.jit(_features, static_argnums=(1, 2))
_jit_fig1 = jax.jit(_fig1, static_argnums=1)
_jit_evolve = jax.jit(_evolve, static_argnums=1)


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------


def _field(name):
    return lambda x: as_float(x, name)


class FourLevelBattery(eqx.Module):
    """Cavity-coupled four-level battery of paper 000 (SPEC 4.1; see the module docstring).

    Fields (JAX arrays; scalars or arrays that broadcast, so both ``vmap`` over models and batched
    fields work): bath temperatures ``T_c`` (cold, leak), ``T_h`` (hot, charging), ``T_l`` (cavity),
    all > 0; noise-induced coherence parameters ``p_c``, ``p_h`` in [0, 1]; pure dephasing ``tau`` >= 0;
    level energies ``eps`` < ``eps_b`` < ``eps_a``; bath coupling rate ``r`` > 0 (Gamma_1x = Gamma_2x = r)
    and cavity coupling ``g`` >= 0.  Static ``conventions``: ``"physical"`` (default, the corrected
    generator) or ``"published"`` (the printed Eq. (1); see the module docstring).

    Concrete invalid values raise ``ValueError`` naming the parameter at construction; traced ones
    raise at run time through ``eqx.error_if``.
    """

    T_c: jax.Array = eqx.field(converter=_field("T_c"))
    T_h: jax.Array = eqx.field(converter=_field("T_h"))
    T_l: jax.Array = eqx.field(converter=_field("T_l"))
    p_c: jax.Array = eqx.field(converter=_field("p_c"))
    p_h: jax.Array = eqx.field(converter=_field("p_h"))
    tau: jax.Array = eqx.field(converter=_field("tau"))
    eps: jax.Array = eqx.field(converter=_field("eps"))
    eps_b: jax.Array = eqx.field(converter=_field("eps_b"))
    eps_a: jax.Array = eqx.field(converter=_field("eps_a"))
    r: jax.Array = eqx.field(default=1.0, converter=_field("r"))
    g: jax.Array = eqx.field(default=1.0, converter=_field("g"))
    conventions: str = eqx.field(default="physical", static=True)

    def __check_init__(self):
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}; got {self.conventions!r}")
        validate_parameters(self.params(checked=False))

    # -- parameters ------------------------------------------------------------------------------
    def params(self, checked: bool = True) -> dict:
        """The fields as a dict (nine parameters + r, g); ``checked`` adds run-time guards."""
        p = {k: getattr(self, k) for k in PARAMETERS + ("r", "g")}
        return _checked(p) if checked else p

    def occupations(self):
        """(n_h, n_c, n_l)."""
        return occupations(self.T_c, self.T_h, self.T_l, self.eps, self.eps_b, self.eps_a)

    # -- operators -------------------------------------------------------------------------------
    def generator(self, lam=0.0):
        """(..., 5, 5) tilted generator L(lam) on x = (rho11, rho22, rho_bb, rho_aa, Re rho12);
        ``generator(0.0)`` is the Liouvillian (trace preserving in the physical conventions)."""
        p = self.params()
        return _GENERATORS[self.conventions](lam, *(p[k] for k in PARAMETERS), p["r"], p["g"])

    def hamiltonian(self):
        """H = diag(eps, eps, eps_b, eps_a) in the basis (1, 2, b, a), (..., 4, 4)."""
        return _hamiltonian(self.eps, self.eps_b, self.eps_a)

    # -- steady state ----------------------------------------------------------------------------
    def steady_state(self):
        """(..., 5) steady state (rho11, rho22, rho_bb, rho_aa, Re rho12), unit population.

        Physical: one LU solve of L(0) x = 0 with t.x = 1 (:func:`qbjax.steady.null_vector`).
        Published: the right eigenvector of the eigenvalue with the largest real part (real part
        taken; see the module docstring).
        """
        return _jit_steady(self.params(), self.conventions)

    def density_matrix(self):
        """(..., 4, 4) steady-state density matrix in the basis (1, 2, b, a) (Eq. 6)."""
        return _density_matrix(self.steady_state())

    def energy(self):
        """Tr(rho H) in the steady state."""
        return _energy(self.density_matrix(), self.hamiltonian())

    def ergotropy(self):
        """Steady-state ergotropy E = Tr(rho H) - passive energy (core :func:`qbjax.ergotropy`)."""
        return _ergotropy(self.density_matrix(), self.hamiltonian())

    def baseline(self):
        """The same battery without coherence: p_c = p_h = tau = 0 (its ergotropy is E0)."""
        z = jnp.zeros_like(self.p_c)
        return eqx.tree_at(lambda m: (m.p_c, m.p_h, m.tau), self, (z, jnp.zeros_like(self.p_h),
                                                                 jnp.zeros_like(self.tau)))

    # -- counting statistics ---------------------------------------------------------------------
    def cumulants(self, order: int = 4):
        """(..., order) exact cumulant rates j1..j_order of the quanta emitted into the cavity.

        Physical: :func:`qbjax.cumulants` (Rayleigh-Schroedinger, trace functional (1,1,1,1,0)).
        Published: derivatives of the eigenvalue with the largest real part (left/right RS).
        """
        if self.conventions == "physical":
            return _jit_cumulants_physical(self.params(), order)
        return _jit_state_and_cumulants(self.params(), "published", order)[1]

    def features(self, order: int = 4) -> dict:
        """Every dataset column of SPEC 6 (except ``config_id``) for this configuration (jitted;
        the same computation as :func:`four_level_features`)."""
        return _jit_features(self.params(), self.conventions, order)

    # -- time evolution (paper Fig. 1) -----------------------------------------------------------
    def initial_state(self):
        """Default initial 5-vector: the lower manifold rho11 = rho22 = 1/2 (passive, no coherence)."""
        x0 = jnp.array([0.5, 0.5, 0.0, 0.0, 0.0], dtype=jnp.result_type(float))
        return jnp.broadcast_to(x0, jnp.shape(self.eps) + (5,))

    def evolve(self, ts, x0=None):
        """(..., len(ts), 5) state vectors x(t) = expm(L(0) t) x0 (exact; t >= 0).

        In the published conventions L(0) is not trace preserving and the total population drifts
        (:meth:`fig1_curves` normalises to unit population).
        """
        x0 = self.initial_state() if x0 is None else jnp.asarray(x0)
        return _jit_evolve(self.params(), self.conventions, jnp.asarray(ts), x0)

    def fig1_curves(self, ts, x0=None) -> dict:
        """Paper Fig. 1 (c-f) along x(t) = expm(L(0) t) x0 (default x0: rho11 = rho22 = 1/2).

        H_c = sum_{1,2,a} eps_v |v><v| (charging, Eq. 2), H_s = sum_{a,b} (storage, Eq. 3),
        H_L = sum_{1,2,b} (leak, Eq. 4).  Returns ``H_c, H_s, H_L`` (expectation values), the ratios
        ``s_over_c`` = <H_s>/<H_c>, ``L_over_s`` = <H_L>/<H_s>, ``L_over_c`` = <H_L>/<H_c>, the
        ergotropy ``E`` of rho(t) and ``E0`` of the baseline (p_c = p_h = tau = 0) evolved from the same
        x0 (core :func:`qbjax.ergotropy`), and ``ratio`` = E/E0 (NaN where E0 <= 1e-12).  States are
        normalised to unit population (a no-op in the physical conventions; the printed Eq. (1) does
        not conserve it).  The battery and its baseline are propagated as one stacked batch.
        """
        x0 = self.initial_state() if x0 is None else jnp.asarray(x0)
        return _jit_fig1(self.params(), self.conventions, jnp.asarray(ts), x0)


# ---------------------------------------------------------------------------------------------
# batched entry point
# ---------------------------------------------------------------------------------------------


def _one(p, conventions, order):
    return _features(p, conventions, order)


_batched = jax.jit(jax.vmap(_one, in_axes=(0, None, None)), static_argnums=(1, 2))


def four_level_features(params: dict, conventions: str = "physical", order: int = 4,
                        validate: bool = True) -> dict:
    """Every SPEC-6 column for a batch of configurations: ``jit(vmap(...))``, no Python loop.

    Args:
        params: the nine parameters (and optionally ``r``, ``g``) as arrays (or scalars) that
            broadcast to one common shape; the result has that shape.
        conventions: ``"physical"`` or ``"published"``.
        order: number of cumulants (4 for the dataset).
        validate: check the parameters (concrete values: ``ValueError`` naming the parameter).

    Returns:
        dict column -> array (float64 by default), keys :data:`FEATURES`.
    """
    if conventions not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {CONVENTIONS}; got {conventions!r}")
    missing = [k for k in PARAMETERS if k not in params]
    if missing:
        raise ValueError(f"missing parameters: {missing}")
    dtype = jnp.result_type(float)
    p = {k: jnp.asarray(params[k], dtype=dtype) for k in PARAMETERS}
    p["r"] = jnp.asarray(params.get("r", 1.0), dtype=dtype)
    p["g"] = jnp.asarray(params.get("g", 1.0), dtype=dtype)
    if validate:
        p = _checked(p)
    shape = jnp.broadcast_shapes(*(v.shape for v in p.values()))
    flat = {k: jnp.broadcast_to(v, shape).reshape(-1) for k, v in p.items()}
    out = _batched(flat, conventions, order)
    return {k: v.reshape(shape) for k, v in out.items()}
