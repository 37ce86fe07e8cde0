"""The optimisers' defaults and choices, without JAX (read by ``qbjax optimize --help``).

``CONVENTIONS`` equals :data:`qbjax.models.four_level.CONVENTIONS` (a test checks it); it is repeated
here so that building the command line imports no model; ``PROTOCOL_OBJECTIVES`` likewise equals
:data:`qbjax.control.OBJECTIVES`.
"""

from __future__ import annotations

import math

#: the four-level design objectives
OBJECTIVES = ("ratio", "ergotropy", "C4")
#: default constraint thresholds (E0 >= E0_MIN for the ratio, |j0_4| >= J0_MIN for C4)
E0_MIN = 1e-3
J0_MIN = 1e-3
#: the micromaser paper's non-fine-tuned coupling g = pi / sqrt(15.6)
G_PAPER = math.pi / math.sqrt(15.6)
#: the four-level generator conventions
CONVENTIONS = ("physical", "published")
#: the objectives and control bases of ``qbjax optimize charger|tavis-cummings``
PROTOCOL_OBJECTIVES = ("ergotropy", "energy", "capacity", "power", "ergotropic-power", "stored-ergotropy")
PROTOCOL_BASES = ("piecewise-constant", "piecewise-linear", "fourier")
