"""Cavity-coupled four-level quantum battery (paper 000: Thakuria, Kalita, Sarmah, Goswami,
"Coherence in the Leak and Storage Kurtosis control Ergotropy in Quantum Batteries").

Levels |1>, |2> (energy ``eps``, degenerate), |b> (``eps_b``), |a> (``eps_a``), eps < eps_b < eps_a (units:
hbar = k_B = 1; energies, temperatures and rates in one common unit, times in its inverse).  The hot bath
(``T_h``) drives 1,2 <-> a, the cold "leak" bath (``T_c``) drives 1,2 <-> b, the storage cavity (``T_l``, coupling
``g``) couples a <-> b.  Symmetric couplings Gamma_1x = Gamma_2x = r, noise-induced coherence Gamma_12x = r p_x
(x = h, c), pure dephasing ``tau``.  Occupations

    n_h = n(eps_a - eps, T_h),  n_c = n(eps_b - eps, T_c),  n_l = n(eps_a - eps_b, T_l),
    n(w, T) = 1 / (exp(w / T) - 1),  nt_x = 1 + n_x,
    Gamma12 = r (p_h n_h + p_c n_c) / 2,  gbar = r (n_h + n_c).

State vector x = (rho11, rho22, rho_bb, rho_aa, Re rho12); trace functional t = (1, 1, 1, 1, 0).
Tilted generator (the corrected Eq. (1) of the paper), lam counting quanta emitted from the storage pair into the cavity
(a -> b counts +1, b -> a counts -1):

    row rho11 : [-r(n_h+n_c),  0,           r nt_c,                 r nt_h,                 -2 Gamma12   ]
    row rho22 : [0,            -r(n_h+n_c), r nt_c,                 r nt_h,                 -2 Gamma12   ]
    row rho_bb: [r n_c,        r n_c,       -(2 r nt_c + g^2 n_l),  g^2 nt_l e^{+lam},      2 r p_c n_c  ]
    row rho_aa: [r n_h,        r n_h,       g^2 n_l e^{-lam},       -(2 r nt_h + g^2 nt_l), 2 r p_h n_h  ]
    row Re12  : [-Gamma12,     -Gamma12,    r p_c nt_c,             r p_h nt_h,             -(gbar + tau)]

ERRATA.  The printed Eq. (1) swaps hot and cold in the emission and loss entries, swaps n_l and 1 + n_l on the
cavity transition and drops factors of 2 in the coherence column; as printed it conserves no probability (the
coherence column sums to -r p_c n_c) and breaks detailed balance.  The matrix above is fixed by trace preservation,
per-bath detailed balance, the paper's definitions of n_h and n_c and its cycle affinity F (the default,
``conventions="physical"``).

``conventions="published"`` keeps the printed Eq. (1) entry by entry (Gamma_x = 2r, Gamma_12x = r p_x,
Gamma12 = (Gamma_12c n_c + Gamma_12h n_h)/2, gbar = r (n_h + n_c)).  That matrix is not trace
preserving, so its "steady state" is the right eigenvector of the eigenvalue s0 with the largest real
part, normalised to unit population, and its cumulants are the derivatives of that eigenvalue
(Rayleigh-Schroedinger with the left and right eigenvectors, :func:`qbjax._fcs.cumulants_from_entries`).
s0 is found without a non-symmetric eigensolver (the numerics: ``_four_level_equations.published_solution``), so
the published path is elementwise over the batch and differentiable too.  In about 13% of the Table-I
configurations the top eigenvalue of the printed matrix is a complex-conjugate pair; qbjax then takes the member
with Im s0 > 0 and reports real parts (steady state and cumulants), a documented choice (the paper assumes a real
dominant eigenvalue).

Outputs per configuration (the dataset columns of the paper's Sec. III): steady state; ergotropy E of its density
matrix of Eq. (6) (core :func:`qbjax.ergotropy`, eigenvalues only, H = diag(eps, eps, eps_b, eps_a)); the
coherence-free baseline E0 (p_c = p_h = tau = 0) and ratio = E / E0; cumulants j1..j4 and baseline j0_1..j0_4
(core :func:`qbjax.fcs`, exact), C_i = j_i / j0_i; Q_h = eps_a - eps, Q_c = eps_b - eps,
F = nt_c n_h nt_l / (n_c nt_h n_l), W = Q_h - T_c ln F, eta = W / Q_h.  No values are filtered here (E0 = 0
gives ratio = +-inf or NaN; the sweep's filters decide).  The batched entry point: :func:`four_level_features`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._arrays import map_in_chunks
from .._ergotropy import ergotropy as _ergotropy
from .._evolve import propagate
from .._fcs import cumulants as _cumulants
from .._steady import null_vector
from .._validate import (above, as_float, set_validation, as_int, check_times, checks, enforce, finite, finite_rules, nonnegative,
                         positive, state_tolerance, unit_interval)
from ._four_level_equations import (
    PARAMETERS,
    TRACE,
    density_matrix,
    features,
    fig1_curves,
    generator_fn,
    hamiltonian_matrix,
    occupations,
    physical_generator,
    published_generator,
    state_and_cumulants,
    trace_functional,
)
from ._protocol import AbstractBattery

__all__ = [
    "CONSTRAINTS",
    "CONVENTIONS",
    "FEATURES",
    "PARAMETERS",
    "TABLE_ONE_RANGES",
    "TRACE",
    "FourLevelBattery",
    "configuration_features",
    "four_level_features",
    "occupations",
    "physical_generator",
    "published_generator",
    "check_state_vector",
    "sample_table_one",
    "validate_parameters",
]

#: every dataset column except ``config_id``
FEATURES = PARAMETERS + (
    "E", "E0", "ratio",
    "j1", "j2", "j3", "j4",
    "j0_1", "j0_2", "j0_3", "j0_4",
    "C1", "C2", "C3", "C4",
    "Q_h", "Q_c", "W", "F", "eta",
)  # fmt: skip
CONVENTIONS = ("physical", "published")
#: Table-I box (hbar = k_B = 1): the scalar parameters, eps and the gaps d1 = eps_b - eps, d2 = eps_a - eps_b
TABLE_ONE_RANGES = {
    "T_c": (0.1, 7.0), "T_h": (0.1, 7.0), "T_l": (0.1, 7.0),
    "p_c": (0.1, 1.0), "p_h": (0.1, 1.0), "tau": (0.01, 2.0),
    "eps": (0.01, 2.0), "d1": (0.01, 2.0), "d2": (0.01, 2.0),
}  # fmt: skip
#: the rule of every parameter (checked at construction and, when traced, where it is read); every
#: parameter is finite (an infinite temperature or level gives inf occupations and NaN results)
CONSTRAINTS = (
    positive("T_c", "cold-bath temperature"),
    positive("T_h", "hot-bath temperature"),
    positive("T_l", "cavity temperature"),
    unit_interval("p_c"),
    unit_interval("p_h"),
    nonnegative("tau", "dephasing"),
    above("eps_b", "eps", "eps_b must be > eps (levels eps < eps_b < eps_a)"),
    above("eps_a", "eps_b", "eps_a must be > eps_b (levels eps < eps_b < eps_a)"),
    positive("r", "bath coupling rate"),
    nonnegative("g", "cavity coupling"),
) + tuple(finite(k) for k in ("T_c", "T_h", "T_l", "tau", "eps", "eps_b", "eps_a", "r", "g"))


def validate_parameters(params: dict) -> None:
    """Raise ``ValueError`` naming the first invalid parameter of ``params`` (concrete values only).

    ``params``: the nine parameters (optionally ``r``, ``g``); traced values are skipped (the methods check them)."""
    enforce({"r": 1.0, "g": 1.0, **params}, CONSTRAINTS, traced=False)


def sample_table_one(n: int, seed: int) -> dict:
    """``n`` seeded random configurations from the paper's Table-I ranges (NumPy arrays).

    T_c, T_h, T_l ~ U[0.1, 7]; p_c, p_h ~ U[0.1, 1]; tau ~ U[0.01, 2]; eps ~ U[0.01, 2],
    eps_b = eps + U[0.01, 2], eps_a = eps_b + U[0.01, 2] (:data:`TABLE_ONE_RANGES`).
    """
    rng = np.random.default_rng(seed)
    R = TABLE_ONE_RANGES
    p = {k: rng.uniform(*R[k], n) for k in ("T_c", "T_h", "T_l")}
    p["p_c"] = rng.uniform(*R["p_c"], n)
    p["p_h"] = rng.uniform(*R["p_h"], n)
    p["tau"] = rng.uniform(*R["tau"], n)
    p["eps"] = rng.uniform(*R["eps"], n)
    p["eps_b"] = p["eps"] + rng.uniform(*R["d1"], n)
    p["eps_a"] = p["eps_b"] + rng.uniform(*R["d2"], n)
    return p



# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------


def _field(name):
    return lambda x: as_float(x, name)


class FourLevelBattery(AbstractBattery):
    """Cavity-coupled four-level battery of paper 000 (see the module docstring).

    Fields (JAX arrays; scalars or arrays that broadcast to ``batch_shape``, and ``vmap`` over models works): bath
    temperatures ``T_c`` (cold, leak), ``T_h`` (hot, charging), ``T_l`` (cavity), all > 0; noise-induced coherence
    parameters ``p_c``, ``p_h`` in [0, 1]; pure dephasing ``tau`` >= 0; level energies ``eps`` < ``eps_b`` <
    ``eps_a``; bath coupling rate ``r`` > 0 (Gamma_1x = Gamma_2x = r) and cavity coupling ``g`` >= 0.  Static
    ``conventions``: ``"physical"`` (default, the corrected generator) or ``"published"`` (the printed Eq. (1)).

    States are the 5-vectors x = (rho11, rho22, rho_bb, rho_aa, Re rho12), (*batch, 5).  Invalid values
    raise ``ValueError`` naming the parameter at construction (traced: ``eqx.error_if`` at run time).
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

    constraints: ClassVar = CONSTRAINTS

    def __check_init__(self):
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}; got {self.conventions!r}")

    def occupations(self):
        """Bath occupations n_h = n(eps_a - eps, T_h), n_c = n(eps_b - eps, T_c), n_l = n(eps_a - eps_b, T_l).

        n(w, T) = 1 / (exp(w / T) - 1) (k_B = 1).  Returns: three dimensionless arrays, each ``batch_shape``.
        """
        p = self.parameters()
        return occupations(*(p[k] for k in ("T_c", "T_h", "T_l", "eps", "eps_b", "eps_a")))

    # -- operators -------------------------------------------------------------------------------
    def generator(self, lam=0.0):
        """Tilted generator L(lam) of Eq. (1) (corrected, or as printed) on x (module docstring: the rows).

        Args:
            lam: counting field (scalar, or broadcasting with ``batch_shape``), dimensionless: e^{+lam}
                on a -> b (a quantum emitted into the cavity), e^{-lam} on b -> a.

        Returns:
            real array (*batch, 5, 5), in the model's rate unit (that of ``r`` and g^2); ``generator(0.0)``
            is the Liouvillian (trace preserving in the physical conventions).
        """
        return generator_fn(self.parameters(), self.conventions)(lam)

    def hamiltonian(self):
        """H = diag(eps, eps, eps_b, eps_a) in the basis (1, 2, b, a).

        Returns: real array (*batch, 4, 4), in the model's energy unit.
        """
        p = self.parameters()
        return hamiltonian_matrix(p["eps"], p["eps_b"], p["eps_a"])

    def battery_hamiltonian(self):
        """H_B = H = diag(eps, eps, eps_b, eps_a): the battery is the whole four-level system.

        Returns: real array (*batch, 4, 4), in the model's energy unit.
        """
        return self.hamiltonian()

    def battery_state(self, rho):
        """Eq. (6): [[rho11, Re12, 0, 0], [Re12, rho22, 0, 0]] (+) rho_bb (+) rho_aa, basis (1, 2, b, a).

        Args:
            rho: state 5-vectors x = (rho11, rho22, rho_bb, rho_aa, Re rho12), (*batch, *extra, 5);
                not validated (see :func:`check_state_vector`).

        Returns:
            real array (*batch, *extra, 4, 4).
        """
        return density_matrix(rho)

    def ergotropy(self, rho):
        """Ergotropy W = Tr(rho H) - E_p of the Eq. (6) matrix of ``rho`` (core :func:`qbjax.ergotropy`).

        Args:
            rho: state 5-vectors (*batch, *extra, 5).

        Returns:
            real array (*batch, *extra), in the model's energy unit.

        Raises:
            ValueError: naming ``rho`` when its matrix is not a density matrix (``eqx.error_if`` traced).
        """
        return self.battery_functional(_ergotropy, rho)

    # -- steady state ----------------------------------------------------------------------------
    @eqx.filter_jit
    def steady_state(self):
        """(*batch, 5) steady state (rho11, rho22, rho_bb, rho_aa, Re rho12), unit population.

        Physical: one LU solve of L(0) x = 0 with t.x = 1 (:func:`qbjax._steady.null_vector`).  Published: the
        right eigenvector of the eigenvalue with the largest real part (real part taken; module docstring).

        Returns:
            real array (*batch, 5), t . x = 1 for t = (1, 1, 1, 1, 0).

        Raises:
            RuntimeError: "steady state: singular system" (``eqx.error_if``) where it is not unique
                (physical); NaN instead with ``qb.set_validation(False)``.
        """
        if self.conventions == "published":
            return state_and_cumulants(self.parameters(), "published", 1)[0]
        L0 = self.generator(0.0)
        return null_vector(L0, trace_functional(L0.dtype), validate=False)  # the model's own generator

    def density_matrix(self):
        """Steady-state density matrix of Eq. (6), ``battery_state(steady_state())``, basis (1, 2, b, a).

        Returns: real array (*batch, 4, 4); RuntimeError as :meth:`steady_state`.
        """
        return self.battery_state(self.steady_state())

    def steady_ergotropy(self):
        """Steady-state ergotropy E = Tr(rho H) - passive energy (core :func:`qbjax.ergotropy`).

        Returns: real array ``batch_shape``, model's energy unit; RuntimeError as :meth:`steady_state`.
        """
        return self.ergotropy(self.steady_state())

    def baseline(self):
        """The same battery without coherence: p_c = p_h = tau = 0 (its steady ergotropy is E0).

        Returns: a :class:`FourLevelBattery` with the same ``batch_shape`` and conventions.
        """
        return eqx.tree_at(lambda m: (m.p_c, m.p_h, m.tau), self,
                           (jnp.zeros_like(self.p_c), jnp.zeros_like(self.p_h), jnp.zeros_like(self.tau)))

    # -- counting statistics ---------------------------------------------------------------------
    @eqx.filter_jit
    def cumulants(self, order: int = 4):
        """(*batch, order) exact cumulant rates j1..j_order of the quanta emitted into the cavity.

        Physical: :func:`qbjax.cumulants` (Rayleigh-Schroedinger, trace functional (1,1,1,1,0)).
        Published: derivatives of the eigenvalue with the largest real part (left/right RS).
        Args:
            order: number of cumulants, an integer >= 1.

        Returns:
            real array (*batch, order), j_k in quanta per unit time (the model's rate unit).

        Raises:
            ValueError: naming ``order`` unless it is an integer >= 1 (RuntimeError as :meth:`steady_state`).
        """
        order = as_int(order, "order", minimum=1)
        p = self.parameters()
        if self.conventions == "physical":
            return _cumulants(generator_fn(p, "physical"), order, trace=trace_functional())
        return state_and_cumulants(p, "published", order)[1]

    @eqx.filter_jit
    def features(self, order: int = 4) -> dict:
        """Every dataset column (except ``config_id``) for this configuration: parameters, E, E0,
        ratio, j1..j4, j0_1..j0_4, C1..C4, Q_h, Q_c, W, F, eta (the computation of
        :func:`four_level_features`), each a real array of shape ``batch_shape`` (keys :data:`FEATURES`).

        Args:
            order: number of cumulants, an integer >= 1 (4 for the dataset).

        Raises:
            ValueError: naming ``order`` unless it is an integer >= 1 (RuntimeError as :meth:`steady_state`).
        """
        return features(self.parameters(0), self.conventions, as_int(order, "order", minimum=1))

    # -- time evolution (paper Fig. 1) -----------------------------------------------------------
    def initial_state(self):
        """Default initial 5-vector x0 = (1/2, 1/2, 0, 0, 0): the lower manifold (passive, no coherence).

        The paper does not give its Fig. 1 start; this is qbjax's (E(0) = E0(0) = 0).  Returns: (*batch, 5).
        """
        x0 = jnp.array([0.5, 0.5, 0.0, 0.0, 0.0], dtype=jnp.result_type(float))
        return jnp.broadcast_to(x0, self.batch_shape + (5,))

    def evolve(self, ts, rho0=None):
        """State vectors x(t) = expm(L(0) t) x0 at the times ``ts`` (exact, :func:`qbjax._evolve.propagate`).

        In the published conventions L(0) is not trace preserving and the total population drifts
        (:meth:`fig1_curves` normalises to unit population).

        Args:
            ts: save times (n_t,), inverse rate unit: 1-D, finite, strictly increasing, >= 0 (the start).
            rho0: initial state 5-vector (5,) or (*batch, 5); default :meth:`initial_state`.

        Returns:
            real array (*batch, n_t, 5).

        Raises:
            ValueError: naming ``ts``, or ``rho0`` unless finite with populations in [0, 1] summing to 1
                and |Re rho12| <= sqrt(rho11 rho22) (positivity of the 2x2 block), each within
                :func:`qbjax._validate.state_tolerance`; ``eqx.error_if`` when traced.
        """
        return self._propagate(*self._inputs(ts, rho0))

    @eqx.filter_jit
    def _propagate(self, ts, x0):
        return propagate(self.generator(0.0), x0, ts, validate=False)  # ts, x0 checked by _inputs

    def _inputs(self, ts, rho0):
        """(checked ts, checked x0 or the default start)."""
        ts = check_times(ts, "ts", start=0.0, start_name="t = 0 (the model's start)")
        return ts, self.initial_state() if rho0 is None else check_state_vector(rho0, "rho0")

    def ergotropy_curve(self, ts, rho0=None):
        """Ergotropy curve W(t) = ergotropy(evolve(ts, rho0)) (paper Fig. 1), model's energy unit.

        Args:
            ts: save times (n_t,) >= 0, inverse rate unit.
            rho0: initial state 5-vector; default :meth:`initial_state`.

        Returns:
            real array (*batch, n_t).

        Raises:
            ValueError: naming ``ts`` or ``rho0``, as :meth:`evolve`.
        """
        return self.ergotropy(self.evolve(ts, rho0))

    def fig1_curves(self, ts, rho0=None) -> dict:
        """Paper Fig. 1 (c-f) along x(t) = expm(L(0) t) x0 (default x0: rho11 = rho22 = 1/2).

        H_c = sum_{1,2,a} eps_v |v><v| (charging, Eq. 2), H_s = sum_{a,b} (storage, Eq. 3),
        H_L = sum_{1,2,b} (leak, Eq. 4).  Returns ``H_c, H_s, H_L`` (expectation values), the ratios
        ``s_over_c`` = <H_s>/<H_c>, ``L_over_s`` = <H_L>/<H_s>, ``L_over_c`` = <H_L>/<H_c>, the
        ergotropy ``E`` of rho(t) and ``E0`` of the baseline (p_c = p_h = tau = 0) evolved from the same
        x0 (core :func:`qbjax.ergotropy`), and ``ratio`` = E/E0 (NaN where E0 <= 1e-12).  States are
        normalised to unit population (a no-op in the physical conventions), the battery and its
        baseline propagated as one stacked batch.

        Args:
            ts: save times (n_t,) >= 0, inverse rate unit.
            rho0: initial state 5-vector; default :meth:`initial_state`.

        Returns:
            dict of real arrays (*batch, n_t) (energies in the model's unit, ratios dimensionless).

        Raises:
            ValueError: naming ``ts`` or ``rho0``, as :meth:`evolve`.
        """
        return self._fig1_curves(*self._inputs(ts, rho0))

    @eqx.filter_jit
    def _fig1_curves(self, ts, x0) -> dict:
        return fig1_curves(self.parameters(), self.conventions, ts, x0)


def check_state_vector(x, name: str = "rho0"):
    """Return ``x`` (..., 5) after checking it is a four-level state x = (rho11, rho22, rho_bb, rho_aa,
    Re rho12): finite, populations in [0, 1] summing to 1 and |Re rho12| <= sqrt(rho11 rho22), within
    :func:`qbjax._validate.state_tolerance`; ``ValueError`` naming ``name`` (``eqx.error_if`` when traced)."""
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if x.ndim < 1 or x.shape[-1] != 5:
        raise ValueError(f"{name} must be a state 5-vector (..., 5) = (rho11, rho22, rho_bb, rho_aa, Re rho12); "
                         f"got shape {x.shape}")
    tol = state_tolerance(x.dtype)
    pops = x[..., :4]
    in_range = f"{name}: the populations (rho11, rho22, rho_bb, rho_aa) must lie in [0, 1] (tolerance {tol:g})"
    unit_sum = f"{name}: the populations rho11 + rho22 + rho_bb + rho_aa must sum to 1 (tolerance {tol:g})"
    coherence = f"{name}: |Re rho12| must be <= sqrt(rho11 rho22) (a positive density matrix; tolerance {tol:g})"
    return checks(x, finite_rules(x, name) + [
        (lambda: jnp.all((pops >= -tol) & (pops <= 1 + tol)), in_range),
        (lambda: jnp.all(jnp.abs(jnp.sum(pops, axis=-1) - 1) <= tol), unit_sum),
        (lambda: jnp.all(jnp.abs(x[..., 4]) <= jnp.sqrt(jnp.maximum(x[..., 0] * x[..., 1], 0.0)) + tol), coherence),
    ])


# ---------------------------------------------------------------------------------------------
# batched entry point
# ---------------------------------------------------------------------------------------------


def configuration_features(params: dict, conventions: str = "physical", order: int = 4) -> dict:
    """Every dataset column of the configuration(s) in ``params`` (the nine parameters and ``r``, ``g``, arrays
    that broadcast): pure and differentiable, no validation, no jit (for the caller's own ``jit``/``grad``;
    :func:`four_level_features` is the validated, compiled, batched entry point)."""
    return features(params, conventions, order)


#: rows per piece of the batched features (:func:`qbjax._arrays.map_in_chunks`; 2-core CPU, 10^5 configurations:
#: 77 ms in one piece, 49 / 40 / 38 / 48 ms in pieces of 2048 / 4096 / 8192 / 16384)
CHUNK = 8192


@eqx.filter_jit
def _features_batched(flat: dict, conventions: str, order: int) -> dict:
    return map_in_chunks(lambda p: features(p, conventions, order), flat, CHUNK)


def four_level_features(params: dict, conventions: str = "physical", order: int = 4,
                        validate: bool = True) -> dict:
    """Every dataset column for a batch of configurations: ``jit(vmap(...))``, no Python loop.

    Per configuration two 5x5 LU solves (physical steady states), two LU factorisations for the
    Rayleigh-Schroedinger resolvent and two 4x4 ``eigvalsh`` (ergotropies); no finite difference and,
    in the physical conventions, no non-symmetric eigensolver.

    Args:
        params: the nine parameters (and optionally ``r``, ``g``) as arrays (or scalars) that
            broadcast to one common shape; the result has that shape.
        conventions: ``"physical"`` or ``"published"``.
        order: number of cumulants (4 for the dataset).
        validate: check the parameters (concrete values: ``ValueError`` naming the parameter).
            ``False`` (the sweep, whose grid is checked before it is compiled) builds a program
            without host callbacks, where a configuration without a unique steady state gets NaN
            columns (which the dataset filter removes) instead of an error.

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
        p = enforce(p, CONSTRAINTS)
    shape = jnp.broadcast_shapes(*(v.shape for v in p.values()))
    flat = {k: jnp.broadcast_to(v, shape).reshape(-1) for k, v in p.items()}
    if validate:
        out = _features_batched(flat, conventions, order)
    else:  # no host callback in the program (a sweep step): a singular member gives NaN columns
        with set_validation(False):
            out = _features_batched(flat, conventions, order)
    return {k: v.reshape(shape) for k, v in out.items()}
