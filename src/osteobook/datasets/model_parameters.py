"""The ROS model's parameter values (`data/ferroptosis_model_parameters.csv`), each with its source."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
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


FOLD_TABLE = DATA / "ferroptosis_fold_points.csv"
FOLD_SCHEMA = pa.DataFrameSchema({
    "fold": pa.Column(str, pa.Check.isin(["onset", "collapse"]), unique=True),
    "stress": pa.Column(float, pa.Check.gt(0)),
    "variable": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)

RANGE_TABLE = DATA / "ferroptosis_sensitivity_ranges.csv"
RANGE_SCHEMA = pa.DataFrameSchema({
    "parameter": pa.Column(str, pa.Check.isin(NAMES), unique=True),
    "low": pa.Column(float, pa.Check.gt(0)),
    "high": pa.Column(float, pa.Check.gt(0)),
    "basis": pa.Column(str, pa.Check.isin(["assumption", "sourced"])),
    **source_columns(),
}, strict=True, coerce=True, checks=pa.Check(lambda t: t["low"] < t["high"], error="low < high"))


def load_fold_points(path: str | Path = FOLD_TABLE) -> dict[str, float]:
    """The authors' own fold points `{'onset': S, 'collapse': S}` (stress units) from the curated table."""
    table = read_table(Path(path), FOLD_SCHEMA, include_unverified=False)
    if set(table["fold"]) != {"onset", "collapse"}:
        raise DataError(f"{Path(path).name}: need one verified row for each of 'onset' and 'collapse'")
    return dict(zip(table["fold"], table["stress"].astype(float), strict=True))


def load_ranges(path: str | Path = RANGE_TABLE) -> pd.DataFrame:
    """The uncertain parameters' ranges for the sensitivity analysis: parameter, low, high, basis + sources."""
    return read_table(Path(path), RANGE_SCHEMA)
