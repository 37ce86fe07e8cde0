"""The four-level battery's equations as pure functions of a parameter dict (paper 000).

The tilted generators (corrected and printed Eq. (1)), the steady state and exact cumulants of one
configuration, the density matrix of Eq. (6), its ergotropy in closed form, the coherence-free
baseline and the thermodynamic columns; the physics and the errata are documented in
:mod:`qbjax.models.four_level`, which builds the model and the batched entry point on them.  Every
function broadcasts over leading dimensions and is differentiable; none validates its input, and the
core functions they call run with ``validate=False`` (the generators and states are the model's own:
no host callback in the sweep's hot path; the published generator is not trace preserving anyway).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._arrays import apply_where, sort_small
from .._evolve import propagate
from .._ergotropy import ergotropy as _ergotropy
from .._fcs import cumulants_from_entries, stationary_cumulants_entries
from .._linalg import dominant_eigenvalue_entries, dominant_real_eigenvalue_entries
from .._steady import _flag_singular, eigen_triple_entries
from .._thermal import bose_einstein

#: the nine configuration parameters (dataset columns)
PARAMETERS = ("T_c", "T_h", "T_l", "p_c", "p_h", "tau", "eps", "eps_b", "eps_a")
#: trace functional on x = (rho11, rho22, rho_bb, rho_aa, Re rho12)
TRACE = (1.0, 1.0, 1.0, 1.0, 0.0)


def trace_functional(dtype=None):
    """:data:`TRACE` as an array."""
    return jnp.asarray(TRACE, dtype=dtype or jnp.result_type(float))


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


def physical_entries(n_h, n_c, n_l, p_c, p_h, tau, r=1.0, g=1.0):
    """The corrected generator of Eq. (1) (module docstring) at lam = 0 as a 5 x 5 list of entries,
    and its counting entries {(i, j): (a, s)}: L_ij(lam) = a exp(s lam) (lam counts the quanta
    emitted into the cavity, a -> b), so that d^k L / d lam^k = s^k a in those two entries only."""
    th, tc, tl = 1 + n_h, 1 + n_c, 1 + n_l
    gbar, g2, z = r * (n_h + n_c), g * g, jnp.zeros_like(n_h)
    G12 = r * (p_h * n_h + p_c * n_c) / 2
    rows = [
        [-gbar, z, r * tc, r * th, -2 * G12],
        [z, -gbar, r * tc, r * th, -2 * G12],
        [r * n_c, r * n_c, -(2 * r * tc + g2 * n_l), g2 * tl, 2 * r * p_c * n_c],
        [r * n_h, r * n_h, g2 * n_l, -(2 * r * th + g2 * tl), 2 * r * p_h * n_h],
        [-G12, -G12, r * p_c * tc, r * p_h * th, -(gbar + tau)],
    ]  # fmt: skip
    return rows, {(2, 3): (g2 * tl, 1), (3, 2): (g2 * n_l, -1)}


def published_entries(n_h, n_c, n_l, p_c, p_h, tau, r=1.0, g=1.0):
    """Eq. (1) of the paper exactly as printed (with Gamma_1x = Gamma_2x = r, Gamma_x = 2 r,
    Gamma_12x = r p_x, Gamma12 = (Gamma_12c n_c + Gamma_12h n_h)/2, gbar = r (n_h + n_c)), in the form
    of :func:`physical_entries`.  Not trace preserving (the coherence column sums to -r p_c n_c)."""
    th, tc, tl = 1 + n_h, 1 + n_c, 1 + n_l
    gbar, g2, z = r * (n_h + n_c), g * g, jnp.zeros_like(n_h)
    G12 = r * (p_c * n_c + p_h * n_h) / 2
    rows = [
        [-r * (n_h + n_c), z, r * th, r * tc, -2 * G12],
        [z, -r * (n_h + n_c), r * th, r * tc, -2 * G12],
        [r * n_c, r * n_c, -(2 * r * th) - g2 * tl, g2 * n_l, r * p_c * n_c],
        [r * n_h, r * n_h, g2 * tl, -g2 * n_l - 2 * r * tc, 2 * r * p_h * n_h],
        [-G12, -G12, r * p_h * th, 2 * r * p_c * tc, -gbar - tau],
    ]  # fmt: skip
    return rows, {(2, 3): (g2 * n_l, -1), (3, 2): (g2 * tl, 1)}


ENTRIES = {"physical": physical_entries, "published": published_entries}


def _tilted(entries, lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r, g):
    n_h, n_c, n_l = occupations(T_c, T_h, T_l, eps, eps_b, eps_a)
    rows, counting = entries(n_h, n_c, n_l, p_c, p_h, tau, r, g)
    lam = jnp.asarray(lam)
    for (i, j), (a, sign) in counting.items():
        rows[i][j] = a * (jnp.exp(lam) if sign == 1 else jnp.exp(-lam))
    return _assemble(rows)


def physical_generator(lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r=1.0, g=1.0):
    """The corrected tilted generator of Eq. (1) (module docstring), shape (..., 5, 5)."""
    return _tilted(physical_entries, lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r, g)


def published_generator(lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r=1.0, g=1.0):
    """The printed tilted generator of Eq. (1) (:func:`published_entries`), shape (..., 5, 5)."""
    return _tilted(published_entries, lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r, g)


def counting_derivatives(rows, counting, order: int) -> list:
    """[L(0), L'(0), ..., L^(order)(0)] as entry lists, the derivatives sparse (``None`` off the
    counting entries): the closed form of what nested forward-mode AD gives for the dense matrix."""
    n = len(rows)
    derivs = [rows]
    for k in range(1, order + 1):
        D = [[None] * n for _ in range(n)]
        for (i, j), (a, sign) in counting.items():
            D[i][j] = a if sign**k == 1 else -a
        derivs.append(D)
    return derivs


GENERATORS = {"physical": physical_generator, "published": published_generator}


# ---------------------------------------------------------------------------------------------
# steady state, cumulants, ergotropy (pure functions of a parameter dict)
# ---------------------------------------------------------------------------------------------


def generator_fn(p: dict, conventions: str):
    args = tuple(p[k] for k in PARAMETERS) + (p["r"], p["g"])
    gen = GENERATORS[conventions]
    return lambda lam: gen(lam, *args)


def state_and_cumulants(p: dict, conventions: str, order: int):
    """Steady-state 5-vector (real) and cumulants j1..j_order (real) of one parameter dict, by
    :func:`physical_solution` or :func:`published_solution` (the computation of :func:`features`)."""
    n_h, n_c, n_l = occupations(*(p[k] for k in ("T_c", "T_h", "T_l", "eps", "eps_b", "eps_a")))
    solution = physical_solution if conventions == "physical" else published_solution
    x, js = solution(n_h, n_c, n_l, p["p_c"], p["p_h"], p["tau"], p["r"], p["g"], order)
    return jnp.stack(x, axis=-1), jnp.stack(js, axis=-1)


def density_matrix(x):
    x = jnp.asarray(x)
    z = jnp.zeros_like(x[..., 0])
    r11, r22, rbb, raa, c = (x[..., i] for i in range(5))
    rows = [[r11, c, z, z], [c, r22, z, z], [z, z, rbb, z], [z, z, z, raa]]
    return jnp.stack([e for row in rows for e in row], axis=-1).reshape(x.shape[:-1] + (4, 4))


def hamiltonian_matrix(eps, eps_b, eps_a):
    d = jnp.stack(jnp.broadcast_arrays(eps, eps, eps_b, eps_a), axis=-1)
    return d[..., :, None] * jnp.eye(4, dtype=d.dtype)


def block_ergotropy(x, eps, eps_b, eps_a):
    """Ergotropy of the block-diagonal rho of x for H = diag(eps, eps, eps_b, eps_a), in closed form.

    The spectrum of rho is m +- sqrt(d^2 + c^2) (m, d = (rho11 +- rho22)/2, c = Re rho12; the paper's
    rho_+- = rho11 +- rho12 when rho11 = rho22), rho_bb, rho_aa; the passive energy pairs it in
    descending order with the ascending levels of H.  Same value as :func:`qbjax.ergotropy` (tested)
    without a batched LAPACK call (see :func:`features`) and with finite gradients at c = d = 0.
    """
    r11, r22, rbb, raa, c = (x[..., i] for i in range(5))
    m = (r11 + r22) / 2
    d = (r11 - r22) / 2
    s = d * d + c * c
    root = jnp.where(s > 0, jnp.sqrt(jnp.where(s > 0, s, 1.0)), 0.0)
    r = sort_small([m + root, m - root, rbb, raa])  # ascending (a sorting network, not jnp.sort)
    e = sort_small([eps, eps, eps_b, eps_a])
    energy = eps * (r11 + r22) + eps_b * rbb + eps_a * raa
    return energy - (r[3] * e[0] + r[2] * e[1] + r[1] * e[2] + r[0] * e[3])


def with_baseline(p: dict) -> dict:
    """Parameters stacked on a new last axis: [..., 0] the battery, [..., 1] its baseline."""
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in p.values()))
    out = {}
    for k, v in p.items():
        v = jnp.broadcast_to(jnp.asarray(v), shape)
        b = jnp.zeros_like(v) if k in ("p_c", "p_h", "tau") else v
        out[k] = jnp.stack([v, b], axis=-1)
    return out


def thermodynamics(p: dict) -> dict:
    n_h, n_c, n_l = occupations(p["T_c"], p["T_h"], p["T_l"], p["eps"], p["eps_b"], p["eps_a"])
    Q_h = p["eps_a"] - p["eps"]
    Q_c = p["eps_b"] - p["eps"]
    # F = nt_c n_h nt_l / (n_c nt_h n_l); ln F as a sum of logs (no overflow for tiny n)
    log_F = (jnp.log1p(n_c) - jnp.log(n_c)) + (jnp.log(n_h) - jnp.log1p(n_h)) + (jnp.log1p(n_l) - jnp.log(n_l))
    W = Q_h - p["T_c"] * log_F
    return {"Q_h": Q_h, "Q_c": Q_c, "W": W, "F": jnp.exp(log_F), "eta": W / Q_h}


def physical_solution(n_h, n_c, n_l, p_c, p_h, tau, r, g, order: int, coherent: bool = True):
    """Steady state (list of the five components) and cumulants [j1..j_order] of the corrected
    generator from its entries (:func:`physical_entries`): the core's batch-last unrolled solve with
    one factorisation (:func:`qbjax._fcs.stationary_cumulants_entries`) and the two sparse counting
    derivatives; the matrix is never stacked into an array.

    ``coherent=False`` (the baseline, p_c = p_h = tau = 0): the coherence Re rho12 decouples (its
    row and column vanish off the diagonal) and stays 0, so the populations are solved as the 4 x 4
    rate matrix they are.
    """
    rows, counting = physical_entries(n_h, n_c, n_l, p_c, p_h, tau, r, g)
    m = 5 if coherent else 4
    rows = [row[:m] for row in rows[:m]]
    t = trace_functional(jnp.result_type(n_h))[:m]
    x, js = stationary_cumulants_entries(counting_derivatives(rows, counting, order), t)
    return (x if coherent else x + [jnp.zeros_like(x[0])]), js


#: share of a batch gathered per round for the complex-dominant path of :func:`published_solution` (a
#: batch with more such members runs that path in several rounds of this size; Table I: about 13% of
#: the batteries, none of the baselines)
COMPLEX_SHARE = 0.2


def _published_branch(derivs, s, t):
    """(real right, real [j1..], s1, singular) for the eigenvalue near s of the printed generator."""
    s1, right, left, singular = eigen_triple_entries(derivs[0], t, s)
    js = cumulants_from_entries(derivs, right, left, s1)
    return [jnp.real(v) for v in right], [jnp.real(j) for j in js], singular


def _published_complex(derivs, t):
    """:func:`_published_branch` at the dominant eigenvalue found among all roots (complex)."""
    s = dominant_eigenvalue_entries(derivs[0])
    cdt = jnp.result_type(s)
    derivs = jax.tree.map(lambda e: e.astype(cdt), derivs)
    return _published_branch(derivs, s, t.astype(cdt))


def published_solution(n_h, n_c, n_l, p_c, p_h, tau, r, g, order: int):
    """Steady state (five components) and cumulants [j1..j_order] of the printed generator
    (:func:`published_entries`) at s0, its eigenvalue with the largest real part (Im s0 >= 0 for a
    complex pair, real parts of the eigenvector and the cumulants).

    s0 without LAPACK's geev: the largest real eigenvalue and the Routh-Hurwitz test of whether it
    dominates (:func:`qbjax._linalg.dominant_real_eigenvalue_entries`); the members where a complex
    pair lies further right are gathered (:func:`qbjax._arrays.apply_where`, :data:`COMPLEX_SHARE`)
    and take all roots of the characteristic polynomial in complex arithmetic
    (:func:`qbjax._linalg.dominant_eigenvalue_entries`).  Either estimate is refined on the matrix,
    with the right (t.right = 1) and left (left.right = 1) eigenvectors, by
    :func:`qbjax._steady.eigen_triple_entries`; the cumulants by Rayleigh-Schroedinger
    (:func:`qbjax._fcs.cumulants_from_entries`).  Elementwise over the batch, no LAPACK call.
    """
    rows, counting = published_entries(n_h, n_c, n_l, p_c, p_h, tau, r, g)
    derivs = counting_derivatives(rows, counting, order)
    shape = jnp.broadcast_shapes(*(jnp.shape(e) for row in rows for e in row))
    derivs = jax.tree.map(lambda e: jnp.broadcast_to(e, shape).reshape(-1), derivs)
    t = trace_functional(jnp.result_type(n_h))
    s, dominant = dominant_real_eigenvalue_entries(derivs[0])
    x, js, singular = _published_branch(derivs, s, t)
    B = s.shape[0]
    capacity = B if B <= 64 else -(-int(B * COMPLEX_SHARE) // 8) * 8
    xc, jc, sc = apply_where(~dominant, lambda d: _published_complex(d, t), derivs, capacity)
    pick = lambda a, b: [jnp.where(dominant, u, v).reshape(shape) for u, v in zip(a, b)]
    x, js = pick(x, xc), pick(js, jc)
    singular = jnp.where(dominant, singular, sc).reshape(shape)
    return _flag_singular((x, js), singular, "generator(0)")


def _published_pair(n_h, n_c, n_l, q, z, order: int):
    """:func:`published_solution` of the battery and of its baseline (p_c = p_h = tau = 0) in one
    call on the two batches joined (elementwise: the same numbers as two calls)."""
    shape = z.shape
    join = lambda a, b: jnp.concatenate([jnp.broadcast_to(a, shape).reshape(-1), jnp.broadcast_to(b, shape).reshape(-1)])
    occ = [join(v, v) for v in (n_h, n_c, n_l)]
    coh = [join(q[k], z) for k in ("p_c", "p_h", "tau")]
    x, js = published_solution(*occ, *coh, join(q["r"], q["r"]), join(q["g"], q["g"]), order)
    half = z.size
    split = lambda vs, k: [v[k * half:(k + 1) * half].reshape(shape) for v in vs]
    return split(x, 0), split(js, 0), split(x, 1), split(js, 1)


def features(p: dict, conventions: str = "physical", order: int = 4) -> dict:
    """Every dataset column for a parameter dict (arrays broadcast; no validation).

    The battery and its baseline (p_c = p_h = tau = 0, the same occupations) by
    :func:`physical_solution` or :func:`published_solution`: elementwise arithmetic over the batch,
    no LAPACK call.  Reason for avoiding batched LAPACK calls here (jaxlib 0.10.2, CPU): a batched
    LAPACK kernel started on an XLA intra-op pool worker splits its batch over that same pool
    (``jax::ParallelBatchMap``) and blocks until the pieces finish; two such calls ready at the same
    time can occupy every worker of a 2-core pool and deadlock (observed from about 2,000
    configurations with the battery and its baseline solved by separate LAPACK calls; native stacks
    in ``ParallelBatchMap`` <- ``lapack_dgetrf_ffi``).  ``jax.lax.optimization_barrier`` does not
    prevent it (XLA CPU drops it before scheduling).  For the same reason the ergotropies use the
    closed-form spectrum of the block-diagonal rho (:func:`block_ergotropy`) instead of two
    independent batched ``eigvalsh`` calls.
    """
    dtype = jnp.result_type(*(jnp.asarray(p[k]) for k in PARAMETERS), float)
    q = {k: jnp.asarray(v, dtype=dtype) for k, v in p.items()}
    n_h, n_c, n_l = occupations(*(q[k] for k in ("T_c", "T_h", "T_l", "eps", "eps_b", "eps_a")))
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in q.values()))
    n_h, n_c, n_l = (jnp.broadcast_to(v, shape) for v in (n_h, n_c, n_l))
    z = jnp.zeros(shape, dtype)
    if conventions == "physical":  # the baseline's coherence decouples: its populations as a 4 x 4 system
        x, js = physical_solution(n_h, n_c, n_l, q["p_c"], q["p_h"], q["tau"], q["r"], q["g"], order)
        x0, js0 = physical_solution(n_h, n_c, n_l, z, z, z, q["r"], q["g"], order, coherent=False)
    else:  # battery and baseline as one batch of twice the size: one copy of the program, half the compile
        x, js, x0, js0 = _published_pair(n_h, n_c, n_l, q, z, order)
    E = block_ergotropy(jnp.stack(x, axis=-1), q["eps"], q["eps_b"], q["eps_a"])
    E0 = block_ergotropy(jnp.stack(x0, axis=-1), q["eps"], q["eps_b"], q["eps_a"])
    out = {k: jnp.asarray(p[k]) for k in PARAMETERS}
    out["E"] = E
    out["E0"] = E0
    out["ratio"] = E / E0
    for i in range(order):
        out[f"j{i + 1}"] = js[i]
        out[f"j0_{i + 1}"] = js0[i]
        out[f"C{i + 1}"] = js[i] / js0[i]
    out.update(thermodynamics(p))
    return out


def fig1_curves(p: dict, conventions: str, ts, x0) -> dict:
    """:meth:`qbjax.models.FourLevelBattery.fig1_curves` as a pure function of a parameter dict."""
    pb = with_baseline(p)
    L0 = generator_fn(pb, conventions)(0.0)  # (..., 2, 5, 5)
    xs = propagate(L0, jnp.asarray(x0)[..., None, :], ts, validate=False)  # x0 shared by battery and baseline
    xs = xs / jnp.sum(xs[..., :4], axis=-1, keepdims=True)
    x, xb = xs[..., 0, :, :], xs[..., 1, :, :]
    eps, eb, ea = (jnp.asarray(p[k])[..., None] for k in ("eps", "eps_b", "eps_a"))
    low = x[..., 0] + x[..., 1]
    H_c = eps * low + ea * x[..., 3]
    H_s = ea * x[..., 3] + eb * x[..., 2]
    H_L = eps * low + eb * x[..., 2]
    H = hamiltonian_matrix(p["eps"], p["eps_b"], p["eps_a"])[..., None, :, :]
    E = _ergotropy(density_matrix(x), H, validate=False)
    E0 = _ergotropy(density_matrix(xb), H, validate=False)
    ok = E0 > 1e-12
    return {
        "H_c": H_c, "H_s": H_s, "H_L": H_L,
        "s_over_c": H_s / H_c, "L_over_s": H_L / H_s, "L_over_c": H_L / H_c,
        "E": E, "E0": E0, "ratio": jnp.where(ok, E / jnp.where(ok, E0, 1.0), jnp.nan),
    }  # fmt: skip
