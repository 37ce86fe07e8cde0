"""qbjax: simulate, differentiate and optimise quantum batteries with JAX.

Importing qbjax enables JAX's 64-bit mode (physics in float64/complex128).  Opt out with the
environment variable ``QBJAX_PRECISION=single`` before import, or ``qb.set_precision("single")``.
"""

from ._precision import _init_from_environment

_init_from_environment()

from . import models  # noqa: E402
from ._precision import get_precision, set_precision  # noqa: E402
from .ergotropy import (  # noqa: E402
    active_energy,
    antiergotropy,
    capacity,
    energy,
    ergotropy,
    passive_energy,
)
from .evolve import evolve  # noqa: E402
from .fcs import cumulants  # noqa: E402
from .states import concurrence, partial_trace, purity, trace_distance  # noqa: E402
from .steady import steady_state  # noqa: E402
from .superop import liouvillian  # noqa: E402
from .thermal import bose_einstein  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "active_energy",
    "antiergotropy",
    "bose_einstein",
    "capacity",
    "concurrence",
    "cumulants",
    "energy",
    "ergotropy",
    "evolve",
    "get_precision",
    "liouvillian",
    "models",
    "partial_trace",
    "passive_energy",
    "purity",
    "set_precision",
    "steady_state",
    "trace_distance",
]
