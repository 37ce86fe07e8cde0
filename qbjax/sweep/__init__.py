"""`qbjax sweep`: the four-level battery's Table-I grid to a Parquet dataset (SPEC 4.1, 5, 6)."""

from .grid import AXES, RANGES, config_ids_to_params, n_configs, table_one_axes

__all__ = ["AXES", "RANGES", "config_ids_to_params", "n_configs", "table_one_axes"]
