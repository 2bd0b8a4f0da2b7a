"""The ROS model's parameter values (`data/ferroptosis_model_parameters.csv`), each with its source."""
from __future__ import annotations

from pathlib import Path

import pandera.pandas as pa

from ..errors import DataError
from ..paths import DATA
from .curated import read_table, source_columns

PARAMETER_TABLE = DATA / "ferroptosis_model_parameters.csv"
NAMES = ["c", "kd", "kf", "k_nox", "n_nox", "kg", "k_gsh", "n_gsh", "s_max", "e_half"]

SCHEMA = pa.DataFrameSchema({
    "parameter": pa.Column(str, pa.Check.isin(NAMES), unique=True),
    "value": pa.Column(float, pa.Check.ge(0)),
    "unit": pa.Column(str),
    "meaning": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)


def load(path: str | Path = PARAMETER_TABLE, include_unverified: bool = False) -> dict[str, float]:
    """`{parameter: value}` from the curated table, validated; unverified rows only if asked for."""
    table = read_table(Path(path), SCHEMA, include_unverified)
    missing = sorted(set(NAMES) - set(table["parameter"]))
    if missing:
        raise DataError(f"{Path(path).name}: no usable value for model parameter(s) {missing}; "
                        f"the table must give {NAMES} (rows marked unverified are skipped)")
    return {name: float(value) for name, value in zip(table["parameter"], table["value"], strict=True)}
