"""Battery models: one Equinox module a paper, all speaking the battery protocol.

Every model is a final subclass of :class:`AbstractBattery` (a Lindblad battery given by H, H_B, jump
operators and a start can subclass :class:`AbstractLindbladBattery` and get the rest).  Array fields
broadcast to ``batch_shape`` (written ``*b`` below) and every output carries it in front; ``jax.vmap``
over models works too.  ``n_t`` is the number of times, "-" marks a method the model does not have.

| method | ChargerBattery | FourLevelBattery | MultiCellBattery | Micromaser | TavisCummingsBattery |
|---|---|---|---|---|---|
| system state | (*b, 4, 4), charger (x) battery | (*b, 5) vector x = (rho11, rho22, rho_bb, rho_aa, Re rho12) | (2^n, 2^n), n cells, one configuration (vmap for batches) | (*b, N, N), cavity | (*b, d, d), Dicke (x) cavity, d = (N+1) n_cavity |
| `hamiltonian()` | (*b, 4, 4) | (*b, 4, 4) diag(eps, eps, eps_b, eps_a) | (2^n, 2^n) H_S | (N, N) H_F = a^dag a | (*b, d, d) |
| `battery_hamiltonian()` | (*b, 2, 2) omega_b sb^dag sb | (*b, 4, 4), = H | (2^n, 2^n), = H_S | (N, N), = H_F | (*b, N+1, N+1) omega_b (J_z + N/2) |
| `liouvillian(t=0.0)` | (*b, 16, 16) | - (`generator(lam)`: (*b, 5, 5) tilted) | (4^n, 4^n) | - (collision map) | (*b, d^2, d^2), time dependent |
| `jump_ops(t=0.0)` | (*b, 1, 4, 4) | - | (n 2^n, 2^n, 2^n) | - | (*b, K, d, d) |
| `initial_state()` | (*b, 4, 4) charger on the Bloch sphere, battery empty | (*b, 5) rho11 = rho22 = 1/2 | (2^n, 2^n) all cells down | (N, N) vacuum | (d, d) fully charged, J = M |
| `evolve(ts, rho0=None)` | (*b, n_t, 4, 4), diffrax | (*b, n_t, 5), exact expm | (n_t, 2^n, 2^n), diffrax | (*b, n_t, N, N), ts = collision counts | (*b, n_t, d, d), diffrax in operator form |
| `battery_state(rho)` | (..., 2, 2) Tr over the charger | (..., 4, 4) density matrix (Eq. 6) | (..., 2^n, 2^n), rho itself | (..., N, N), rho itself | (..., N+1, N+1) Tr over the cavity |
| `energy(rho)`, `ergotropy(rho)`, `capacity(rho)`, `battery_functional(fn, rho)` | (...) | (...) | (...) | (...) | (...), ergotropy by `conventions` |
| `ergotropy_curve(ts, rho0=None)` | (*b, n_t) | (*b, n_t) | (n_t,) | (*b, n_t) | (*b, n_t) |
| `steady_state()` | (*b, 4, 4), needs gamma > 0 | (*b, 5) | (2^n, 2^n) | - | - |
| `steady_ergotropy()` | (*b) | (*b) | () | - | - |
| `features()` | optimal times and peaks: t_E, E_max, t_erg, erg_max, t_P, P_max, t_Pe, Pe_max | the 29 dataset columns (E, E0, ratio, j1..j4, C1..C4, W, F, eta, ...) | ergotropy, energy, J_<cell>, p_<state> of the steady state | W, energy, purity, top_population after n collisions | ergotropy, ergotropy_published, trace_distance, blp_published, blp_variation at t1 (and `ergotropy_curve` with `curve=True`) |
| paper-specific | `curves`, `optimal_times`, `concurrence`, `evolve_ket` (kets at gamma = 0) | `generator`, `cumulants`, `baseline`, `density_matrix`, `fig1_curves` | `summary`, `heat_currents`, `populations`, `transitions`, `rates` | `collide`, `charge`, `run`, `trajectory`, `loss`, `loss_terms` | `rates`, `dynamics`, `blp`, `final_ergotropy`, `reduced_ergotropy`, `population_ergotropy`, `optimal_detuning`, `battery_populations` |

States passed to ``battery_state``/``energy``/``ergotropy`` have the batch axes first, then axes of
their own (time), then the state axes.  Parameter rules (``T_h > 0``, ``p_c`` in [0, 1], level
ordering, ...) are declared once per model in ``constraints`` and checked at construction (concrete
values) or where the model reads its parameters (traced values, ``eqx.error_if``); the rule builders
``positive``, ``nonnegative``, ``unit_interval``, ``finite``, ``above`` and ``Constraint`` are exported
here for the user's own models.
"""

from . import charger_battery, four_level, micromaser, multi_cell, tavis_cummings
from .._validate import Constraint, above, finite, nonnegative, positive, unit_interval
from ._protocol import AbstractBattery, AbstractLindbladBattery, steady_features
from .charger_battery import ChargerBattery
from .four_level import FourLevelBattery
from .micromaser import Micromaser
from .multi_cell import MultiCellBattery
from .tavis_cummings import TavisCummingsBattery

__all__ = [
    "AbstractBattery",
    "Constraint",
    "AbstractLindbladBattery",
    "ChargerBattery",
    "FourLevelBattery",
    "Micromaser",
    "MultiCellBattery",
    "TavisCummingsBattery",
    "above",
    "charger_battery",
    "finite",
    "four_level",
    "micromaser",
    "multi_cell",
    "nonnegative",
    "positive",
    "steady_features",
    "tavis_cummings",
    "unit_interval",
]
