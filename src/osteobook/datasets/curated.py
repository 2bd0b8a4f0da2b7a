"""Curated tables in `data/`: shared source columns and validated reading.

Every curated value carries its source (see `data/SCHEMA.md`). `read_table` validates a CSV against a
pandera schema; a bad value stops with the file, the CSV line, the column and the rule it breaks.
Rows whose status is `unverified` are dropped here, once, unless the caller asks for them.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from ..errors import DataError

STATUSES = ["verified", "secondary", "unverified"]


def source_columns() -> dict[str, pa.Column]:
    text = pa.Check.str_length(min_value=1)
    return {
        "source_url": pa.Column(str, pa.Check.str_startswith("http")),
        "source_location": pa.Column(str, text),
        "quote": pa.Column(str, text),
        "source_kind": pa.Column(str, pa.Check.isin(["primary", "secondary"])),
        "status": pa.Column(str, pa.Check.isin(STATUSES)),
        "notes": pa.Column(str, nullable=True),
    }


def read_table(path: Path, schema: pa.DataFrameSchema, include_unverified: bool = True) -> pd.DataFrame:
    """Read a curated CSV and validate it; errors name the file, CSV line, column and rule.

    With `include_unverified=False` rows whose `status` is `unverified` are dropped after validation.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for column, spec in schema.columns.items():
        if column in frame and spec.dtype is not None and str(spec.dtype) == "bool":
            frame[column] = frame[column].map(_parse_bool, na_action="ignore")
    try:
        table = schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        raise DataError(_describe(path, err.failure_cases)) from None
    if not include_unverified:
        table = table.loc[table["status"] != "unverified"].reset_index(drop=True)
    return table


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise naming the file and the missing columns (and the columns it has)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; columns present: {list(frame.columns)}")


def _parse_bool(text: str) -> bool | str:
    return {"true": True, "false": False}.get(text.strip().lower(), text)


def _describe(path: Path, failures: pd.DataFrame) -> str:
    lines = [f"{path.name}: {len(failures)} problem(s)"]
    for _, case in failures.head(20).iterrows():
        where = "" if pd.isna(case["index"]) else f"line {int(case['index']) + 2}, "
        column = case["column"] if isinstance(case["column"], str) else "(table)"
        lines.append(f"  {where}column {column!r}: value {case['failure_case']!r} fails {case['check']}")
    return "\n".join(lines)
