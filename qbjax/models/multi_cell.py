"""Multi-cell thermal quantum battery (paper 001: Hadipour & Haseli, "Nonequilibrium Quantum Batteries:
Amplified Work Extraction Through Thermal Reservoir Modulation").

n qubits ("cells"; n = 2: L, R; n = 3: L, M, R), each coupled through sigma_x to its own bosonic bath
at temperature T_i.  Units: hbar = k_B = 1 (frequencies, couplings, temperatures and rates share one
unit).  System Hamiltonian, every pair counted ONCE (the paper's sum over i != j is ambiguous):

    H_S = sum_i (w_i / 2) sz_i + sum_{i<j} (lam_ij / 2) sz_i sz_j,

``coupling`` is the symmetric (n, n) matrix lam_ij with zero diagonal.  Basis: the computational basis,
cell 0 most significant, |0> = spin up (sz = +1, the excited state of a cell), so for three cells the
basis order is the paper's |1> = |uuu>, |2> = |uud>, ..., |8> = |ddd>.  H_S is diagonal there: its
eigenstates are the basis states and no eigensolver is needed.

Global Born-Markov-secular master equation (paper Eqs. 4-6, with the erratum below)::

    d rho / dt = -i [H_S, rho] + sum_i sum_{w > 0} J(w) [ (1 + n_i(w)) D[A_i(w)] + n_i(w) D[A_i(w)^dag] ],
    A_i(w) = sum_{E_m - E_k = w} |k><k| sx_i |m><m|            (LOWERING: E_m > E_k),
    J(w) = kappa w (Ohmic),  n_i(w) = 1 / (exp(w / T_i) - 1)   (T_i = 0: n = 0, finite gradients),
    D[A] rho = A rho A^dag - {A^dag A, rho} / 2.

ERRATA.  The paper prints A_i(w) as a sum over E_k - E_m = w > 0, i.e. a raising operator; with the
emission rate J (1 + n) that would pump the cells into inverted states at T_L = T_R, against the
paper's own Fig. 2.  qbjax uses the lowering form above.

Secular grouping with static shapes.  sx_i only connects basis states that differ in spin i, so the
transitions of bath i are the 2^(n-1) pairs (up_i, down_i) of basis states differing in spin i.  For each
pair p the positive Bohr frequency is w_p = |E(up) - E(down)| and its lowering operator is
|low_p><high_p|.  Pairs whose Bohr frequencies agree to ``secular_tol`` (absolute, units of energy;
default 1e-9, far above the ~1e-15 round-off of O(1) parameters and far below any physical splitting
one would resolve) are summed into one A_i(w): a boolean (n, P, P) mask G[i, p, q] = |w_p - w_q| <=
tol, and the first pair of each group ("leader") carries the group's operator sum_q G[p, q] |low_q><high_q|
while the other pairs of the group get rate zero.  Everything has fixed shapes (n baths x P pairs x 2
directions = n 2^n jump operators), so the model is jit-, vmap- and grad-compatible over omega,
coupling, T and kappa; the mask is piecewise constant (no gradient flows through it).

Level crossings (degenerate points).  A pair with w_p <= secular_tol has no positive Bohr frequency and
the secular master equation drops it (the paper sums over w > 0 only).  The generator is then
discontinuous in the parameters (as w -> 0+ the rate kappa w n(w) tends to kappa T, not 0), and at the
crossings - two cells at lam_LR = w, three equal cells at w = 2 lam - the state |d...d> is cut off from
every transition: the steady state is NOT unique (:func:`qbjax.steady_state` flags it as singular).  A second way to
lose uniqueness: a population network with several closed classes (e.g. every bath at T = 0 and a
degenerate ground state, as for two cells with |lam_LR| > w; or absorption rates that underflow to 0 for
w / T > 700); it is detected with static shapes by a transitive closure of the rate graph (the steady
state is diagonal: single spin flips never feed coherences from populations).  Documented choice:
:meth:`MultiCellBattery.steady_state` (and everything built on it) refuses both:
``degenerate="raise"`` (default) raises a ``ValueError`` naming the crossing transition or the number
of closed classes (inside ``jit``: ``eqx.error_if`` with a generic message of the same kind),
``degenerate="nan"`` returns NaN there (for vmapped scans through such points).  The Liouvillian itself
is well defined everywhere.

Steady-state solvers (field ``steady``).  Every A_i(w) is a sum of flips of spin i on disjoint pairs of
basis states, so the Liouvillian maps populations to populations and coherences to coherences - also
for grouped, equal Bohr frequencies (equal cells) - and the populations obey the Pauli rate equation
dp/dt = W p on their own (:mod:`qbjax.models._multi_cell_pauli`).  ``steady="auto"`` (default) takes the
steady state as diag(p) with W p = 0, sum p = 1 (a 2^n x 2^n solve, core ``null_vector``) and switches
back to the full 4^n x 4^n Liouvillian (core ``steady_state``) at the level crossings, where two levels
joined by a bath transition are degenerate and a population can mix with their coherence (the outputs
there are the NaN / error above on either path).  The switch is made in Python when ``omega`` and
``coupling`` are concrete (also inside a ``vmap`` over temperatures only) and by ``lax.cond`` on the
crossing flag when they are traced (a ``vmap`` over couplings then evaluates both branches, at about
the Liouvillian's cost; ``steady="pauli"`` gives the same outputs there, NaN / error at the crossings
included, at the rate equation's).  ``steady="pauli"`` or ``"liouvillian"`` forces one solver; they
agree to round-off (~1e-15).

The steady state does not depend on kappa (it scales the whole dissipator; kappa = 1 by default).
Heat currents: J_i = Tr(H_S D_i[rho_ss]), D_i the dissipator of bath i; POSITIVE when energy flows FROM
bath i INTO the system; in the steady state sum_i J_i = 0.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._ergotropy import energy as _energy
from .._ergotropy import ergotropy as _ergotropy
from .._evolve import evolve as _evolve
from .._steady import steady_state as _steady_state
from .._superop import commutator_superop as _commutator_superop
from .._superop import dissipator as _dissipator
from .._superop import vec
from .._thermal import bose_einstein
from .._validate import (Constraint, as_float, check_state, check_times, finite, is_concrete, nonnegative,
                         positive)
from . import _multi_cell_fcs as _fcs
from . import _multi_cell_pauli as _pauli
from ._multi_cell_tables import (
    _STEADY_PATHS,
    _basis_label,
    _cell_names,
    _classes_message,
    _closed_classes,
    _crossing_message,
    _guard,
    _nan_where,
    _numpy_bohr,
    _population_block,
    _structure,
    _symmetric,
    _zero_diagonal,
)
from ._protocol import AbstractBattery


class MultiCellBattery(AbstractBattery):
    """n coupled qubit cells, cell i in contact with a bosonic bath at temperature ``T[i]``.

    Fields (JAX arrays of one configuration; n is static, read from the shape of ``omega``):

    * ``omega`` (n,): cell splittings w_i > 0, finite;
    * ``coupling`` (n, n): lam_ij, finite, real symmetric with zero diagonal (each pair enters H_S once);
    * ``T`` (n,): bath temperatures T_i >= 0 (T = 0 allowed), finite;
    * ``kappa`` (): Ohmic strength, J(w) = kappa w, kappa > 0, finite;
    * ``secular_tol`` (static float): tolerance for equal Bohr frequencies / level crossings;
    * ``steady`` (static str): steady-state solver, "auto" (default), "pauli" or "liouvillian" (module
      docstring, "Steady-state solvers").

    The battery is the whole register: system and battery states are (2^n, 2^n) density matrices
    and H_B = H_S.  The fields hold one configuration (``batch_shape`` is ()): batches go through
    ``jax.vmap`` over a function that builds the model, e.g.
    ``jax.vmap(lambda T: MultiCellBattery(w, lam, T).steady_ergotropy())(Ts)``.
    """

    omega: jax.Array = eqx.field(converter=lambda x: as_float(x, "omega"))
    coupling: jax.Array = eqx.field(converter=lambda x: as_float(x, "coupling"))
    T: jax.Array = eqx.field(converter=lambda x: as_float(x, "T"))
    kappa: jax.Array = eqx.field(default=1.0, converter=lambda x: as_float(x, "kappa"))
    secular_tol: float = eqx.field(default=1e-9, static=True)
    steady: str = eqx.field(default="auto", static=True)

    field_ndims: ClassVar = {"omega": 1, "coupling": 2, "T": 1}
    constraints: ClassVar = (
        positive("omega"),
        finite("omega"),
        nonnegative("T"),
        finite("T"),
        positive("kappa"),
        finite("kappa"),
        finite("coupling"),
        Constraint("coupling", _symmetric, "coupling must be symmetric (lam_ij = lam_ji)"),
        Constraint("coupling", _zero_diagonal, "coupling must have a zero diagonal"),
    )

    def __check_init__(self):
        if self.omega.ndim != 1 or self.omega.shape[0] < 1:
            raise ValueError(f"omega must have shape (n,); got {self.omega.shape}")
        n = self.omega.shape[0]
        if self.coupling.shape != (n, n):
            raise ValueError(f"coupling must have shape ({n}, {n}) for n = {n} cells; got {self.coupling.shape}")
        if self.T.shape != (n,):
            raise ValueError(f"T must have shape ({n},) for n = {n} cells; got {self.T.shape}")
        if self.kappa.ndim != 0:
            raise ValueError(f"kappa must be a scalar; got shape {self.kappa.shape}")
        if not self.secular_tol > 0:
            raise ValueError(f"secular_tol must be > 0; got {self.secular_tol}")
        if self.steady not in _STEADY_PATHS:
            raise ValueError(f"steady must be one of {_STEADY_PATHS}; got {self.steady!r}")

    # -- parameters ------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return self.omega.shape[-1]

    @property
    def dim(self) -> int:
        return 2**self.n_cells

    @property
    def cell_names(self):
        return _cell_names(self.n_cells)

    def basis_labels(self):
        """Labels of the basis states, e.g. ('uuu', 'uud', ..., 'ddd'); u = spin up (excited)."""
        return tuple(_basis_label(k, self.n_cells) for k in range(self.dim))

    def _params(self):
        """Validated fields of one configuration (``eqx.error_if`` when traced)."""
        p = self.parameters()
        return p["omega"], p["coupling"], p["T"], p["kappa"]

    # -- spectrum and transitions ----------------------------------------------------------------
    def _energies(self, omega, c):
        z, _, _ = _structure(self.n_cells)
        z = jnp.asarray(z, dtype=omega.dtype)
        pair = jnp.triu(c, 1)  # each pair i < j once
        return 0.5 * z @ omega + 0.5 * jnp.einsum("ki,ij,kj->k", z, pair, z)

    def energies(self):
        """Eigenvalues E_k of H_S in basis order, shape (2^n,) (real)."""
        return self._energies(*self._params()[:2])

    def hamiltonian(self):
        """H_S = sum_i (w_i/2) sz_i + sum_{i<j} (lam_ij/2) sz_i sz_j, diagonal (2^n, 2^n), complex."""
        return jnp.diag(self.energies()).astype(jnp.result_type(complex))

    def battery_hamiltonian(self):
        """The battery is the whole register: H_B = H_S."""
        return self.hamiltonian()

    def _transitions(self, E):
        _, up, down = _structure(self.n_cells)
        signed = E[up] - E[down]  # (n, P)
        w = jnp.abs(signed)
        high = jnp.where(signed >= 0, up, down)
        low = jnp.where(signed >= 0, down, up)
        tol = self.secular_tol
        valid = w > tol
        group = (jnp.abs(w[:, :, None] - w[:, None, :]) <= tol) & valid[:, :, None] & valid[:, None, :]
        P = w.shape[-1]
        earlier = jnp.tril(jnp.ones((P, P), dtype=bool), -1)  # q < p
        leader = valid & ~jnp.any(group & earlier, axis=-1)
        return {"w": w, "high": high, "low": low, "valid": valid, "leader": leader, "group": group}

    def transitions(self):
        """Transition table of every bath, each (n, P) with P = 2^(n-1):

        ``w`` positive Bohr frequencies |E_up - E_down|, ``high``/``low`` the upper and lower basis
        states, ``valid`` (w > secular_tol), ``leader`` (the first pair of its secular group; carries
        the group operator), ``group`` (n, P, P) the secular mask G[i, p, q].
        """
        return self._transitions(self.energies())

    def level_crossing(self):
        """True where some bath transition has Bohr frequency <= secular_tol (see module docstring)."""
        return ~jnp.all(self.transitions()["valid"])

    def _rates(self, tr, T, kappa):
        w_safe = jnp.where(tr["valid"], tr["w"], 1.0)  # bose_einstein needs omega > 0
        nbar = bose_einstein(w_safe, T[:, None])
        J = kappa * w_safe
        on = tr["leader"]
        return jnp.where(on, J * (1.0 + nbar), 0.0), jnp.where(on, J * nbar, 0.0)

    def rates(self):
        """Emission J(w)(1 + n_i(w)) and absorption J(w) n_i(w) rates per (bath, pair), each (n, P).

        Zero for non-leader pairs and for dropped (w <= tol) pairs.
        """
        return self._parts()[2]

    def _lowering(self, tr):
        d = self.dim
        dtype = jnp.result_type(float)
        single = jax.nn.one_hot(tr["low"], d, dtype=dtype)[..., :, None] * jax.nn.one_hot(
            tr["high"], d, dtype=dtype
        )[..., None, :]  # |low_q><high_q| = |low><low| sx_i |high><high|, (n, P, d, d)
        grouped = jnp.einsum("ipq,iqab->ipab", tr["group"].astype(dtype), single)
        return grouped * tr["leader"][..., None, None].astype(dtype)

    def lowering_operators(self):
        """A_i(w) of every (bath i, pair p), shape (n, P, d, d), real 0/1 entries; zero for non-leader
        (and dropped) pairs."""
        return self._parts()[3]

    def jump_ops(self, t=0.0):
        """All jump operators with rates folded in, shape (n 2^n, d, d), complex: per bath i the
        sqrt(J(1 + n_i)) A_i(w) then the sqrt(J n_i) A_i(w)^dag (zeros where masked out; time
        independent).  ``qbjax.liouvillian(m.hamiltonian(), m.jump_ops())`` equals ``m.liouvillian()``."""
        return _jump_ops(self)

    def _parts(self):
        """One validated pass: H (complex), transitions, the (emission,
        absorption) rates (n, P) each, the lowering operators A_i(w) (n, P, d, d) and the unit
        dissipators D[A_i(w)], D[A_i(w)^dag] (n, 2P, d^2, d^2) from the core's ``dissipator``.  A_i(w)
        is real, so the dissipators are built in real arithmetic; they depend on omega and coupling
        only, so under ``vmap`` over temperatures they are built once and only the rates are batched."""
        omega, c, T, kappa = self._params()
        E = self._energies(omega, c)
        tr = self._transitions(E)
        rates = self._rates(tr, T, kappa)
        A, D = self._dissipators(tr)
        return _diag_complex(E), tr, rates, A, D

    def _dissipators(self, tr):
        """A_i(w) (n, P, d, d) and the unit dissipators D[A_i(w)], D[A_i(w)^dag] (n, 2P, d^2, d^2)."""
        A = self._lowering(tr)
        return A, _dissipator(jnp.concatenate([A, jnp.swapaxes(A, -1, -2)], axis=1))

    @eqx.filter_jit
    def liouvillian(self, t=0.0):
        """(4^n, 4^n) Lindblad generator, row-major vec, -i[H_S, .] + sum_k rate_k D[A_k] (core
        ``commutator_superop``/``dissipator``; time independent); equal to ``qbjax.liouvillian(
        self.hamiltonian(), self.jump_ops())``, but linear in the rates, which keeps gradients exact
        where a rate vanishes (T = 0) and lets ``vmap`` over temperatures reuse the D[A_k]."""
        return _assemble(*_flat_parts(self))

    @eqx.filter_jit
    def bath_dissipators(self):
        """(n, 4^n, 4^n) complex: the dissipator of each bath alone (no Hamiltonian part)."""
        _, rates, D = _flat_parts(self)
        return jnp.einsum("ik,ikab->iab", rates, D).astype(jnp.result_type(complex))

    # -- dynamics --------------------------------------------------------------------------------
    def initial_state(self):
        """|d...d><d...d|: every cell in its lower level (sz = -1), (2^n, 2^n) complex."""
        return jnp.zeros((self.dim, self.dim), dtype=jnp.result_type(complex)).at[-1, -1].set(1.0)

    def evolve(self, ts, rho0=None, **kwargs):
        """States rho(t) at the times ``ts`` >= t0 from ``rho0`` (default :meth:`initial_state`) at t0 = 0,
        (n_t, 2^n, 2^n) (core :func:`qbjax.evolve`; keyword arguments go to it).

        Raises ``ValueError`` naming ``ts`` (not 1-D, empty, finite, strictly increasing, or before
        t0) or ``rho0`` (not a (2^n, 2^n) density matrix); ``eqx.error_if`` when traced."""
        kwargs = {"t0": 0.0, **kwargs}
        ts = check_times(ts, "ts", start=kwargs["t0"], start_name="t0")
        rho0 = None if rho0 is None else check_state(rho0, "rho0", size=self.dim)
        return self._evolve_states(ts, rho0, kwargs)

    @eqx.filter_jit
    def _evolve_states(self, ts, rho0, kwargs):
        rho0 = self.initial_state() if rho0 is None else rho0
        return _evolve(self.liouvillian(), rho0, ts, **kwargs, validate=False)  # ts, rho0 checked by evolve

    def battery_state(self, rho):
        """The whole register is the battery: ``rho`` itself."""
        return jnp.asarray(rho)

    def ergotropy(self, rho):
        """Ergotropy of the register state(s) ``rho`` w.r.t. H_S (core :func:`qbjax.ergotropy`)."""
        return self.battery_functional(_ergotropy, rho)

    def ergotropy_curve(self, ts, rho0=None, **kwargs):
        """Ergotropy along :meth:`evolve` (which checks ``ts`` and ``rho0``), (n_t,)."""
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    # -- steady state and observables ------------------------------------------------------------
    def steady_state(self, degenerate: str = "raise"):
        """Steady state (2^n, 2^n), jit-compiled: diag(p) of the rate equation or the Liouvillian's (``steady``).

        ``degenerate``: "raise" (default) or "nan": what to do at a level crossing (module docstring).
        """
        return self.summary(degenerate)["rho"]

    def steady_ergotropy(self, degenerate: str = "raise"):
        """Ergotropy of the steady state w.r.t. H_S (core :func:`qbjax.ergotropy`)."""
        return self.summary(degenerate)["ergotropy"]

    def populations(self, degenerate: str = "raise"):
        """Steady-state populations of the basis (= energy eigen-) states, (2^n,), order of basis_labels()."""
        return self.summary(degenerate)["populations"]

    def heat_currents(self, degenerate: str = "raise"):
        """(n,) steady-state heat currents J_i = Tr(H_S D_i[rho_ss]); > 0: energy flows from
        bath i into the cells."""
        return self.summary(degenerate)["heat_currents"]

    def heat_current_statistics(self, order: int = 2, degenerate: str = "raise") -> dict:
        """Joint counting statistics of the heat currents (:mod:`._multi_cell_fcs`), dict of
        ``heat_currents`` (n,) (= :meth:`heat_currents`), ``covariance`` (n, n) rates, ``cumulants``
        (j1, ..., j_order) (order >= 2), ``entropy_production`` -sum_i J_i / T_i, ``tur_ratio`` (n,)."""
        return _fcs.statistics(self, order, degenerate)

    def features(self, degenerate: str = "raise") -> dict:
        """Steady-state scalars: ``ergotropy``, ``energy``, the heat currents ``J_<cell>`` and the
        populations ``p_<basis label>`` (scalars)."""
        s = self.summary(degenerate)
        out = {"ergotropy": s["ergotropy"], "energy": s["energy"]}
        out.update({f"J_{name}": s["heat_currents"][..., i] for i, name in enumerate(self.cell_names)})
        out.update({f"p_{label}": s["populations"][..., k] for k, label in enumerate(self.basis_labels())})
        return out

    def summary(self, degenerate: str = "raise"):
        """dict: ``rho``, ``populations``, ``energy``, ``ergotropy``, ``heat_currents`` of the steady state
        from one compiled solve.

        Points without a unique steady state - a level crossing (module docstring) or a transition
        network with several closed classes (e.g. every bath at T = 0 and a degenerate ground state) -
        raise with ``degenerate="raise"`` (default; a ``ValueError`` naming the cause when the
        parameters are concrete, ``eqx.error_if`` when traced) and give NaN with ``degenerate="nan"``.
        """
        if degenerate not in ("raise", "nan"):
            raise ValueError(f"degenerate must be 'raise' or 'nan'; got {degenerate!r}")
        path = self._steady_path()
        if degenerate == "raise" and is_concrete(self):
            out, crossing, n_classes = self._summary("nan", path)
            if bool(crossing):
                raise ValueError(_crossing_message(self, self.transitions()))
            if int(n_classes) != 1:
                raise ValueError(_classes_message(self, int(n_classes)))
            return out
        return self._summary(degenerate, path)[0]

    def _steady_path(self) -> str:
        """Which steady-state solver :meth:`summary` runs (module docstring, "Steady-state solvers"):
        ``steady`` unless it is "auto"; for "auto" with concrete ``omega`` and ``coupling`` (also when only
        T and kappa are traced, e.g. a vmap over temperatures) "liouvillian" at a level crossing, else
        "pauli"; "auto" when they are traced (then a ``lax.cond`` on the crossing flag decides)."""
        if self.steady != "auto" or not is_concrete((self.omega, self.coupling)):
            return self.steady
        w = np.abs(_numpy_bohr(np.asarray(self.omega), np.asarray(self.coupling), self.n_cells))
        return "liouvillian" if bool(np.any(w <= self.secular_tol)) else "pauli"

    @eqx.filter_jit
    def _summary(self, degenerate: str, path: str):
        """Solve + observables of the steady state, plus the flags (level crossing, closed classes).

        ``path``: "pauli", "liouvillian" or "auto" (``lax.cond``: the Liouvillian where the traced
        parameters sit at a level crossing).  "raise": ``eqx.error_if`` on either flag (traced
        parameters).  "nan": where a flag is set the regular stand-in generator -identity is solved
        (unique steady state) and every output is replaced by NaN, so vmapped scans through such points
        neither raise nor return an arbitrary vector.
        """
        omega, c, T, kappa = self._params()
        E = self._energies(omega, c)
        tr = self._transitions(E)
        rates = self._rates(tr, T, kappa)
        crossing = ~jnp.all(tr["valid"])
        pauli = lambda: self._pauli_summary(E, tr, rates, crossing, degenerate)
        full = lambda: self._liouvillian_summary(E, tr, rates, crossing, degenerate)
        if path == "auto":
            return jax.lax.cond(crossing, full, pauli)
        return pauli() if path == "pauli" else full()

    def _pauli_summary(self, E, tr, rates, crossing, degenerate):
        """The populations' rate equation W p = 0 (2^n x 2^n, :mod:`._multi_cell_pauli`); rho = diag(p)."""
        n = self.n_cells
        r = _pauli.pair_rates(tr, rates, n)
        W = _pauli.rate_matrix(r, n)
        n_classes = _closed_classes(W)
        W, bad = _guard(W, crossing, n_classes, degenerate)
        p = _pauli.populations(W)
        energy, ergotropy, J = _pauli.observables(E, p, r, n)
        out = {"rho": _diag_complex(p), "populations": p, "energy": energy, "ergotropy": ergotropy,
               "heat_currents": J}
        return _nan_where(out, bad, degenerate), crossing, n_classes

    def _liouvillian_summary(self, E, tr, rates, crossing, degenerate):
        """The full (4^n, 4^n) Liouvillian through the core's ``steady_state``."""
        H = _diag_complex(E)
        _, D = self._dissipators(tr)
        rates = jnp.concatenate(rates, axis=1)
        L = _assemble(H, rates, D)
        n_classes = _closed_classes(_population_block(L, self.dim))
        L, bad = _guard(L, crossing, n_classes, degenerate)
        rho = _steady_state(L, validate=False)  # the model's own generator (features: no host callback)
        # heat currents J_i = Tr(H D_i[rho]) = sum_k rate_ik Tr(H D[A_ik] rho) (real D, real H)
        dE = jnp.einsum("ikab,b->ika", D, vec(rho))  # D[A_ik] rho, vectorised
        HdE = jnp.einsum("ika,a->ik", dE, vec(H.T))  # Tr(H X) = sum_ab H_ba X_ab
        J = jnp.real(jnp.einsum("ik,ik->i", rates, HdE))
        out = {
            "rho": rho,
            "populations": jnp.real(jnp.diagonal(rho)),
            "energy": _energy(rho, H, validate=False),
            "ergotropy": _ergotropy(rho, H, validate=False),
            "heat_currents": J,
        }
        return _nan_where(out, bad, degenerate), crossing, n_classes


def _diag_complex(x):
    return jnp.diag(x).astype(jnp.result_type(complex))


def _flat_parts(m: MultiCellBattery):
    """(H, rates (n, 2P), dissipators (n, 2P, d^2, d^2)) of one configuration."""
    H, _, (down, up), _, D = m._parts()
    return H, jnp.concatenate([down, up], axis=1), D


def _assemble(H, rates, D):
    diss = jnp.einsum("ik,ikab->ab", rates, D)
    return _commutator_superop(H) + diss.astype(H.dtype)


def _jump_ops(m: MultiCellBattery):
    _, _, (down, up), A, _ = m._parts()

    def safe_sqrt(r):  # sqrt'(0) = inf would give 0 * inf = NaN gradients where a rate is 0
        pos = r > 0
        return jnp.where(pos, jnp.sqrt(jnp.where(pos, r, 1.0)), 0.0)

    Ad = jnp.swapaxes(A, -1, -2)
    ops = jnp.concatenate([safe_sqrt(down)[..., None, None] * A, safe_sqrt(up)[..., None, None] * Ad], axis=1)
    return ops.reshape((-1,) + ops.shape[-2:]).astype(jnp.result_type(complex))


def two_cell(T_L, T_R, lam_LR, omega=1.0, kappa=1.0, **kwargs) -> MultiCellBattery:
    """The paper's two-cell battery (Eq. 9): w_L = w_R = omega, coupling lam_LR."""
    lam = jnp.asarray(lam_LR, dtype=jnp.result_type(float))
    z = jnp.zeros_like(lam)
    coupling = jnp.stack([jnp.stack([z, lam]), jnp.stack([lam, z])])
    om = jnp.asarray(omega, dtype=lam.dtype)
    T = jnp.stack([jnp.asarray(T_L, dtype=lam.dtype), jnp.asarray(T_R, dtype=lam.dtype)])
    return MultiCellBattery(jnp.stack([om, om]), coupling, T, kappa, **kwargs)


def three_cell(T_L, T_M, T_R, lam, omega=1.0, kappa=1.0, **kwargs) -> MultiCellBattery:
    """The paper's three-cell battery: w_L = w_M = w_R = omega, lam_LM = lam_MR = lam_LR = lam."""
    lam = jnp.asarray(lam, dtype=jnp.result_type(float))
    coupling = lam * (1.0 - jnp.eye(3, dtype=lam.dtype))
    om = jnp.asarray(omega, dtype=lam.dtype)
    T = jnp.stack([jnp.asarray(t, dtype=lam.dtype) for t in (T_L, T_M, T_R)])
    return MultiCellBattery(jnp.stack([om, om, om]), coupling, T, kappa, **kwargs)
