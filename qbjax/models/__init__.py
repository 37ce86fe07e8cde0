"""Battery models: one Equinox module a paper (see SPEC section 4)."""

from . import charger_battery, four_level, micromaser, multi_cell
from .charger_battery import ChargerBattery
from .four_level import FourLevelBattery
from .micromaser import Micromaser
from .multi_cell import MultiCellBattery

__all__ = [
    "ChargerBattery",
    "FourLevelBattery",
    "Micromaser",
    "MultiCellBattery",
    "charger_battery",
    "four_level",
    "micromaser",
    "multi_cell",
]
