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

Where to read on.  Equal Bohr frequencies of one bath are summed into one A_i(w) with static shapes
(secular grouping: :meth:`MultiCellBattery.transitions`).  At level crossings, and where the rate
network has several closed classes, the steady state is not unique: :meth:`MultiCellBattery.steady_state`
raises or returns NaN there (its docstring).  The steady state comes from the populations' rate equation
or from the full Liouvillian (the field ``steady`` of :class:`MultiCellBattery`).

The steady state does not depend on kappa (it scales the whole dissipator; kappa = 1 by default).
Heat currents: J_i = Tr(H_S D_i[rho_ss]), D_i the dissipator of bath i; POSITIVE when energy flows FROM
bath i INTO the system; in the steady state sum_i J_i = 0.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._ergotropy import ergotropy as _ergotropy
from .._evolve import evolve as _evolve
from .._validate import Constraint, as_float, check_state, check_times, finite, nonnegative, positive
from . import _multi_cell_fcs as _fcs
from . import _multi_cell_generator as _gen
from ._multi_cell_tables import _basis_label, _cell_names, _check_shapes, _symmetric, _zero_diagonal
from ._protocol import AbstractBattery


class MultiCellBattery(AbstractBattery):
    """n coupled qubit cells, cell i in contact with a bosonic bath at temperature ``T[i]``.

    Fields (JAX arrays of one configuration; n is static, read from the shape of ``omega``):

    * ``omega`` (n,): cell splittings w_i > 0, finite;
    * ``coupling`` (n, n): lam_ij, finite, real symmetric with zero diagonal (each pair enters H_S once);
    * ``T`` (n,): bath temperatures T_i >= 0 (T = 0 allowed), finite;
    * ``kappa`` (): Ohmic strength, J(w) = kappa w, kappa > 0, finite;
    * ``secular_tol`` (static float, > 0): absolute tolerance (energy unit) for equal Bohr frequencies and
      level crossings; default 1e-9 (:meth:`transitions`);
    * ``steady`` (static str): steady-state solver.  Every A_i(w) flips spin i on disjoint pairs of basis
      states, so the populations obey the Pauli rate equation dp/dt = W p on their own
      (:mod:`qbjax.models._multi_cell_pauli`).  ``"pauli"``: rho_ss = diag(p) with W p = 0, sum p = 1 (a
      2^n x 2^n solve, core ``null_vector``); ``"liouvillian"``: the full 4^n x 4^n Liouvillian (core
      ``steady_state``); the two agree to round-off (~1e-15).  ``"auto"`` (default): the rate equation,
      except at the level crossings, where two levels joined by a bath transition are degenerate and a
      population can mix with their coherence: there the Liouvillian (the outputs there are NaN or an
      error on either path, :meth:`steady_state`).  The switch is made in Python when ``omega`` and
      ``coupling`` are concrete (also inside a ``vmap`` over temperatures only) and by ``lax.cond`` on the
      crossing flag when they are traced: a ``vmap`` over couplings then evaluates both branches, at
      about the Liouvillian's cost, where ``steady="pauli"`` gives the same outputs (NaN / error at the
      crossings included) at the rate equation's.

    The battery is the whole register: system and battery states are (2^n, 2^n) density matrices
    and H_B = H_S.  The fields hold one configuration (``batch_shape`` is ()): batches go through
    ``jax.vmap`` over a function that builds the model, e.g.
    ``jax.vmap(lambda T: MultiCellBattery(w, lam, T).steady_ergotropy())(Ts)``.  Every method reads
    the fields through ``parameters()``: concrete ones are checked when the model is built
    (``ValueError`` naming the field), traced ones at run time (``eqx.error_if``).
    """

    omega: jax.Array = eqx.field(converter=lambda x: as_float(x, "omega"))
    coupling: jax.Array = eqx.field(converter=lambda x: as_float(x, "coupling"))
    T: jax.Array = eqx.field(converter=lambda x: as_float(x, "T"))
    kappa: jax.Array = eqx.field(default=1.0, converter=lambda x: as_float(x, "kappa"))
    secular_tol: float = eqx.field(default=1e-9, static=True)
    steady: str = eqx.field(default="auto", static=True)

    field_ndims: ClassVar = {"omega": 1, "coupling": 2, "T": 1}
    constraints: ClassVar = (
        positive("omega"), finite("omega"), nonnegative("T"), finite("T"), positive("kappa"), finite("kappa"),
        finite("coupling"), Constraint("coupling", _symmetric, "coupling must be symmetric (lam_ij = lam_ji)"),
        Constraint("coupling", _zero_diagonal, "coupling must have a zero diagonal"),
    )

    def __check_init__(self):
        _check_shapes(self)

    # -- parameters ------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Number n of cells (qubits, one bath each), a Python int >= 1 read from the static shape (n,) of
        ``omega`` (the same for every member of a vmapped batch)."""
        return self.omega.shape[-1]

    @property
    def dim(self) -> int:
        """Dimension d = 2^n of the register's Hilbert space (a Python int): every state of the model is a
        (d, d) density matrix."""
        return 2**self.n_cells

    @property
    def cell_names(self):
        """Names of the cells (and of their baths): ("L", "R") for n = 2, ("L", "M", "R") for n = 3, else
        ("cell0", ..., "cell<n-1>"); the ``J_<name>`` keys of :meth:`features`, a tuple of n str."""
        return _cell_names(self.n_cells)

    def basis_labels(self):
        """Labels of the 2^n basis states in basis order (cell 0 first; u = spin up, sz = +1, the excited
        level of a cell; d = down): ('uu', 'ud', 'du', 'dd') for n = 2, ('uuu', ..., 'ddd') for n = 3 (the
        paper's |1>, ..., |8>); the ``p_<label>`` keys of :meth:`features`, a tuple of str."""
        return tuple(_basis_label(k, self.n_cells) for k in range(self.dim))

    def _params(self):
        """Validated fields of one configuration (``eqx.error_if`` when traced)."""
        p = self.parameters()
        return p["omega"], p["coupling"], p["T"], p["kappa"]

    # -- spectrum and transitions ----------------------------------------------------------------
    def _energies(self, omega, c):
        return _gen.energies(self, omega, c)

    def energies(self):
        """Eigenvalues E_k = sum_i (w_i/2) z_ki + sum_{i<j} (lam_ij/2) z_ki z_kj of H_S, z_ki = +1 (-1) when
        spin i of basis state k is up (down), in basis order (:meth:`basis_labels`).

        Returns:
            real array (2^n,), float64, energy unit (that of ``omega``).
        """
        return self._energies(*self._params()[:2])

    def hamiltonian(self):
        """System Hamiltonian H_S = sum_i (w_i/2) sz_i + sum_{i<j} (lam_ij/2) sz_i sz_j (each pair once),
        diagonal in the computational basis: diag(:meth:`energies`).

        Returns:
            complex array (2^n, 2^n), complex128, energy unit.
        """
        return jnp.diag(self.energies()).astype(jnp.result_type(complex))

    def battery_hamiltonian(self):
        """Battery Hamiltonian H_B = H_S (:meth:`hamiltonian`; the battery is the whole register), what
        :meth:`ergotropy` and :meth:`energy` refer to: complex (2^n, 2^n), complex128, energy unit."""
        return self.hamiltonian()

    def _transitions(self, E):
        return _gen.transitions(self, E)

    def transitions(self):
        """Transition table of the baths: the Bohr frequencies w > 0 of the A_i(w) of Eqs. 4-6 and their
        secular groups.

        Secular grouping with static shapes.  sx_i only connects basis states that differ in spin i, so
        the transitions of bath i are the P = 2^(n-1) pairs (up_i, down_i) of basis states differing in
        spin i.  For each pair p the positive Bohr frequency is w_p = |E(up) - E(down)| and its lowering
        operator is |low_p><high_p|.  Pairs whose Bohr frequencies agree to ``secular_tol`` (absolute,
        energy unit; the default 1e-9 is far above the ~1e-15 round-off of O(1) parameters and far below
        any physical splitting one would resolve) are summed into one A_i(w): a boolean (n, P, P) mask
        G[i, p, q] = |w_p - w_q| <= tol, and the first pair of each group ("leader") carries the group's
        operator sum_q G[p, q] |low_q><high_q| while the other pairs of the group get rate zero.  Everything
        has fixed shapes (n baths x P pairs x 2 directions = n 2^n jump operators), so the model is jit-,
        vmap- and grad-compatible over omega, coupling, T and kappa; the mask is piecewise constant (no
        gradient flows through it).  A pair with w_p <= secular_tol is dropped (:meth:`level_crossing`).

        Returns:
            dict of arrays, each (n, P) unless stated: ``w`` the Bohr frequencies (float64, energy unit);
            ``high``, ``low`` the upper and lower basis state of each pair (int, basis indices); ``valid``
            (bool) w > secular_tol; ``leader`` (bool) the pair carries its group's operator; ``group``
            (n, P, P, bool) the secular mask G[i, p, q].
        """
        return self._transitions(self.energies())

    def level_crossing(self):
        """Whether the configuration sits at a level crossing: some bath transition has Bohr frequency
        w <= secular_tol (two cells: lam_LR = w; three equal cells: w = 2 lam), see :meth:`steady_state`;
        a bool array of shape () (traced under ``jit`` / ``vmap``)."""
        return ~jnp.all(self.transitions()["valid"])

    def _rates(self, tr, T, kappa):
        return _gen.rates(tr, T, kappa)

    def rates(self):
        """Emission J(w)(1 + n_i(w)) and absorption J(w) n_i(w) rates of every (bath i, pair p) (Eqs. 4-6):
        J(w) = kappa w, n_i(w) = 1 / (exp(w / T_i) - 1), n = 0 at T_i = 0; a secular group's rate sits on its
        leader (:meth:`transitions`), zero for the other pairs of the group and for dropped (w <= tol) pairs.

        Returns:
            tuple (emission, absorption) of real arrays (n, P), float64, rate unit (= energy unit).
        """
        return _gen.parts(self)[2]

    def lowering_operators(self):
        """Lowering operators A_i(w) = sum_{E_m - E_k = w} |k><k| sx_i |m><m| of Eqs. 4-6 (lowering form,
        module ERRATA) per (bath i, pair p): sum_q G[i, p, q] |low_q><high_q| on the leader p of each
        secular group (:meth:`transitions`), zero for the other and for dropped pairs.

        Returns:
            real array (n, P, 2^n, 2^n), float64, entries 0 or 1 (dimensionless).
        """
        return _gen.parts(self)[3]

    def jump_ops(self, t=0.0):
        """Jump operators of Eqs. 4-6 with the rates folded in: per bath i the sqrt(J(w)(1 + n_i(w))) A_i(w) of
        every pair, then the sqrt(J(w) n_i(w)) A_i(w)^dag; ``qbjax.liouvillian(m.hamiltonian(), m.jump_ops())``
        equals ``m.liouvillian()``.  The gradient is 0 (not NaN) where a rate is 0.

        Args:
            t: time (inverse energy unit); ignored, the model is time independent.

        Returns:
            complex array (n 2^n, 2^n, 2^n), complex128, units sqrt(energy); zero where masked out.
        """
        return _gen.jump_ops(self)

    @eqx.filter_jit
    def liouvillian(self, t=0.0):
        """Lindblad generator of Eqs. 4-6, L = -i[H_S, .] + sum_k rate_k D[A_k] (row-major vec; core
        ``commutator_superop`` and ``dissipator``), jit-compiled.

        Equal to ``qbjax.liouvillian(self.hamiltonian(), self.jump_ops())``, but linear in the rates,
        which keeps gradients exact where a rate vanishes (T = 0) and lets ``vmap`` over temperatures
        reuse the D[A_k] (they depend on omega and coupling only).

        Args:
            t: time (inverse energy unit); ignored, the model is time independent.

        Returns:
            complex array (4^n, 4^n), complex128, energy unit: d vec(rho)/dt = L vec(rho).
        """
        return _gen.assemble(*_gen.flat_parts(self))

    @eqx.filter_jit
    def bath_dissipators(self):
        """Dissipator of each bath alone, D_i = sum_w J(w) [(1 + n_i) D[A_i(w)] + n_i D[A_i(w)^dag]]
        (Eqs. 4-6, row-major vec, no Hamiltonian part), jit-compiled: L = -i[H_S, .] + sum_i D_i.

        Returns:
            complex array (n, 4^n, 4^n), complex128, energy unit.
        """
        _, rates, D = _gen.flat_parts(self)
        return jnp.einsum("ik,ikab->iab", rates, D).astype(jnp.result_type(complex))

    # -- dynamics --------------------------------------------------------------------------------
    def initial_state(self):
        """Default start of :meth:`evolve`: |d...d><d...d|, every cell in its lower level (sz = -1), the last
        basis state; a pure density matrix (2^n, 2^n), complex128, independent of the parameters."""
        return jnp.zeros((self.dim, self.dim), dtype=jnp.result_type(complex)).at[-1, -1].set(1.0)

    def evolve(self, ts, rho0=None, **kwargs):
        """States rho(t) of the master equation (Eqs. 4-6), vec(rho(t)) = exp(L t) vec(rho0), at the times
        ``ts`` from ``rho0`` at t0 = 0, by the core :func:`qbjax.evolve` on :meth:`liouvillian`.

        Args:
            ts: save times (n_t,), inverse energy unit: 1-D, non-empty, finite, strictly increasing, >= t0.
            rho0: initial density matrix (2^n, 2^n); default :meth:`initial_state`.
            **kwargs: to :func:`qbjax.evolve`: ``t0`` (default 0), ``solver``, ``rtol``, ``atol``,
                ``max_steps``, ``dt0``, ``adjoint``.

        Returns:
            complex array (n_t, 2^n, 2^n), complex128.

        Raises:
            ValueError: naming ``ts`` (``check_times``: not 1-D, empty, not finite, not strictly
                increasing, or before t0) or ``rho0`` (``check_state``: not a (2^n, 2^n) density matrix:
                square, finite, Hermitian, unit trace, positive within
                :func:`qbjax._validate.state_tolerance`); ``eqx.error_if`` when traced.

        Example:
            >>> rho = two_cell(T_L=2.0, T_R=0.1, lam_LR=0.5).evolve(jnp.linspace(0.0, 20.0, 41))  # (41, 4, 4)
        """
        kwargs = {"t0": 0.0, **kwargs}
        ts = check_times(ts, "ts", start=kwargs["t0"], start_name="t0")
        rho0 = None if rho0 is None else check_state(rho0, "rho0", size=self.dim)
        return self._evolve_states(ts, rho0, kwargs)

    @eqx.filter_jit
    def _evolve_states(self, ts, rho0, kwargs):
        rho0 = self.initial_state() if rho0 is None else rho0
        return _evolve(self.liouvillian(), rho0, ts, **kwargs, validate=False)  # ts, rho0 checked by evolve

    def battery_state(self, rho):
        """Battery state rho_B = rho: the whole register is the battery (no partial trace, no check).

        Args:
            rho: register state(s) (*extra, 2^n, 2^n), e.g. the time axis of :meth:`evolve`.

        Returns:
            ``rho`` as a JAX array, same shape and dtype.
        """
        return jnp.asarray(rho)

    def ergotropy(self, rho):
        """Ergotropy W = Tr(rho H_S) - Tr(rho_p H_S) (rho_p the passive state of rho) of the register
        state(s) ``rho`` w.r.t. H_B = H_S (core :func:`qbjax.ergotropy`).

        Args:
            rho: density matrices (*extra, 2^n, 2^n).

        Returns:
            real array (*extra), float64, energy unit.

        Raises:
            ValueError: naming ``rho`` when it is not a density matrix (``eqx.error_if`` when traced).
        """
        return self.battery_functional(_ergotropy, rho)

    def ergotropy_curve(self, ts, rho0=None, **kwargs):
        """Charging curve W(t) = ``ergotropy(evolve(ts, rho0, **kwargs))``.

        Args:
            ts: save times (n_t,), inverse energy unit (checked by :meth:`evolve`).
            rho0: initial density matrix (2^n, 2^n); default :meth:`initial_state`.
            **kwargs: passed to :meth:`evolve`.

        Returns:
            real array (n_t,), float64, energy unit.

        Raises:
            ValueError: naming ``ts`` or ``rho0``, as :meth:`evolve`.
        """
        return self.ergotropy(self.evolve(ts, rho0, **kwargs))

    # -- steady state and observables ------------------------------------------------------------
    def steady_state(self, degenerate: str = "raise"):
        """Steady state rho_ss of Eqs. 4-6, L vec(rho_ss) = 0 with Tr rho_ss = 1, jit-compiled: diag(p) of
        the populations' rate equation or the Liouvillian's null vector (field ``steady``).

        Level crossings (degenerate points).  A pair with w_p <= secular_tol has no positive Bohr
        frequency and the secular master equation drops it (the paper sums over w > 0 only).  The
        generator is then discontinuous in the parameters (as w -> 0+ the rate kappa w n(w) tends to
        kappa T, not 0), and at the crossings - two cells at lam_LR = w, three equal cells at w = 2 lam -
        the state |d...d> is cut off from every transition: the steady state is NOT unique
        (:func:`qbjax.steady_state` flags it as singular).  A second way to lose uniqueness: a population
        network with several closed classes (e.g. every bath at T = 0 and a degenerate ground state, as
        for two cells with |lam_LR| > w; or absorption rates that underflow to 0 for w / T > 700); it is
        detected with static shapes by a transitive closure of the rate graph (the steady state is
        diagonal: single spin flips never feed coherences from populations).  Documented choice: this
        method and everything built on it refuse both (``degenerate``).  The Liouvillian itself is well
        defined everywhere (:meth:`liouvillian`).

        Args:
            degenerate: "raise" (default): raise at such points; "nan": return NaN there (for vmapped scans
                through them).

        Returns:
            complex array (2^n, 2^n), complex128: a diagonal density matrix, independent of kappa.

        Raises:
            ValueError: with "raise", naming the crossing transition (bath, basis states, Bohr frequency)
                or the number of closed classes; inside ``jit`` (traced parameters) ``eqx.error_if`` with
                a generic message of the same kind.  Also for ``degenerate`` not "raise" or "nan".

        Example:
            >>> rho = two_cell(T_L=2.0, T_R=0.1, lam_LR=0.5).steady_state()  # (4, 4)
            >>> W = jax.vmap(lambda T: two_cell(T, 0.1, 0.5).steady_ergotropy("nan"))(jnp.linspace(0.1, 5, 50))
        """
        return self.summary(degenerate)["rho"]

    def steady_ergotropy(self, degenerate: str = "raise"):
        """Ergotropy of the steady state w.r.t. H_S, W = Tr(rho_ss H_S) - Tr(rho_p H_S), rho_p the passive
        state (for the diagonal rho_ss: sum_k p_k E_k - sum_k p_desc,k E_asc,k).

        Args:
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            real array (), float64, energy unit (NaN at degenerate points with "nan").

        Raises:
            ValueError: at degenerate points with "raise" (``eqx.error_if`` inside ``jit``), see :meth:`steady_state`.
        """
        return self.summary(degenerate)["ergotropy"]

    def populations(self, degenerate: str = "raise"):
        """Steady-state populations p_k = <k|rho_ss|k> of the basis (= energy eigen-) states, in the order of
        :meth:`basis_labels`; sum_k p_k = 1.

        Args:
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            real array (2^n,), float64, dimensionless.

        Raises:
            ValueError: at degenerate points with "raise" (``eqx.error_if`` inside ``jit``), see :meth:`steady_state`.
        """
        return self.summary(degenerate)["populations"]

    def heat_currents(self, degenerate: str = "raise"):
        """Steady-state heat currents J_i = Tr(H_S D_i[rho_ss]) (D_i: :meth:`bath_dissipators`); J_i > 0 when
        energy flows from bath i into the cells; sum_i J_i = 0.

        Args:
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            real array (n,), float64, energy per time (energy unit squared, hbar = 1); order of
            :attr:`cell_names`.

        Raises:
            ValueError: at degenerate points with "raise" (``eqx.error_if`` inside ``jit``), see :meth:`steady_state`.
        """
        return self.summary(degenerate)["heat_currents"]

    def heat_current_statistics(self, order: int = 2, degenerate: str = "raise") -> dict:
        """Joint counting statistics of the heat currents: the scaled cumulants of the energies Q_i taken
        from the baths, from the tilted Pauli rate matrix (:mod:`qbjax.models._multi_cell_fcs`).

        Args:
            order: highest cumulant, an integer >= 1 (at least 2 are computed: the TUR needs the variance).
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            dict of float64 arrays: ``heat_currents`` (n,) (= :meth:`heat_currents`, energy / time);
            ``covariance`` (n, n) the rates d<<Q_i Q_j>>/dt (energy^2 / time); ``cumulants`` the tuple
            (j1, ..., j_order), j_k of shape (n,) * k (energy^k / time); ``entropy_production`` ()
            sigma = -sum_i J_i / T_i (1 / time; +inf with a bath at T = 0 absorbing energy);
            ``tur_ratio`` (n,) Var(J_i) sigma / J_i^2 (dimensionless, >= 2; NaN where J_i = 0).

        Raises:
            ValueError: naming ``order`` unless it is an integer >= 1; at degenerate points with "raise"
                (``eqx.error_if`` inside ``jit``), see :meth:`steady_state`.
        """
        return _fcs.statistics(self, order, degenerate)

    def features(self, degenerate: str = "raise") -> dict:
        """Steady-state scalars of one configuration, the columns of a sweep: ``ergotropy``, ``energy``
        Tr(rho_ss H_S), the heat currents ``J_<cell>`` (:attr:`cell_names`) and the populations
        ``p_<basis label>`` (:meth:`basis_labels`).

        Args:
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            dict name -> real array (), float64: energies in the energy unit, currents in energy / time,
            populations dimensionless.

        Raises:
            ValueError: at degenerate points with "raise" (``eqx.error_if`` inside ``jit``), see :meth:`steady_state`.
        """
        s = self.summary(degenerate)
        out = {"ergotropy": s["ergotropy"], "energy": s["energy"]}
        out.update({f"J_{name}": s["heat_currents"][..., i] for i, name in enumerate(self.cell_names)})
        out.update({f"p_{label}": s["populations"][..., k] for k, label in enumerate(self.basis_labels())})
        return out

    def summary(self, degenerate: str = "raise"):
        """The steady state and its observables from one compiled solve (the solver of field ``steady``):
        rho_ss, its populations, energy Tr(rho_ss H_S), ergotropy and heat currents J_i = Tr(H_S D_i[rho_ss]).

        Args:
            degenerate: "raise" (default) or "nan" at points without a unique steady state.

        Returns:
            dict of arrays: ``rho`` (2^n, 2^n) complex128, ``populations`` (2^n,), ``energy`` (),
            ``ergotropy`` (), ``heat_currents`` (n,), real float64 (energy unit; currents energy / time).

        Raises:
            ValueError: at a level crossing or a rate network with several closed classes with "raise",
                naming the cause when the parameters are concrete (``eqx.error_if`` with a generic message
                of the same kind inside ``jit``), see :meth:`steady_state`.
        """
        return _gen.summary(self, degenerate)

    def _steady_path(self) -> str:
        return _gen.steady_path(self)


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
