"""Battery models: one Equinox module a paper (see SPEC section 4)."""

from . import charger_battery, four_level, micromaser, multi_cell, tavis_cummings
from .charger_battery import ChargerBattery
from .four_level import FourLevelBattery
from .micromaser import Micromaser
from .multi_cell import MultiCellBattery
from .tavis_cummings import TavisCummingsBattery

__all__ = [
    "ChargerBattery",
    "FourLevelBattery",
    "Micromaser",
    "MultiCellBattery",
    "TavisCummingsBattery",
    "charger_battery",
    "four_level",
    "micromaser",
    "multi_cell",
    "tavis_cummings",
]
