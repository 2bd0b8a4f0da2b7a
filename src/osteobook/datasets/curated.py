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


_VALIDATED: dict[tuple, pd.DataFrame] = {}  # (file, its mtime and size, schema) -> the validated table


def read_table(path: Path, schema: pa.DataFrameSchema, include_unverified: bool = True) -> pd.DataFrame:
    """Read a curated CSV and validate it; errors name the file, CSV line, column and rule.

    With `include_unverified=False` rows whose `status` is `unverified` are dropped after validation. A file
    is validated once per process while it is unchanged; every call gets its own copy.
    """
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, id(schema))
    if key not in _VALIDATED:
        _VALIDATED[key] = _validated(Path(path), schema)
    table = _VALIDATED[key].copy()
    if not include_unverified:
        table = table.loc[table["status"] != "unverified"].reset_index(drop=True)
    return table


def _validated(path: Path, schema: pa.DataFrameSchema) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    problems = _bool_problems(frame, schema)
    try:
        table = schema.validate(frame.replace(dict.fromkeys(_bool_columns(frame, schema), BOOLEANS)), lazy=True)
    except SchemaErrors as err:
        problems = pd.concat([problems, err.failure_cases], ignore_index=True)
    if len(problems):
        raise DataError(_describe(path, problems))
    return table


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    """Raise naming the file and the missing columns (and the columns it has)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; columns present: {list(frame.columns)}")


BOOLEANS = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}


def _bool_columns(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> list[str]:
    return [c for c, spec in schema.columns.items() if c in frame and str(spec.dtype) == "bool"]


def _bool_problems(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Cells of boolean columns that are not true/false (never guessed: 'no', '0' or 'N/A' are errors)."""
    rows = [{"index": index, "column": column, "failure_case": value, "check": "is true or false"}
            for column in _bool_columns(frame, schema)
            for index, value in frame[column].items() if pd.notna(value) and value not in BOOLEANS]
    return pd.DataFrame(rows, columns=["index", "column", "failure_case", "check"])


def _describe(path: Path, failures: pd.DataFrame, shown: int = 20) -> str:
    """One line per bad CSV line naming every column that failed there; table-wide problems last."""
    lines = [f"{path.name}: {failures['index'].nunique() + failures['index'].isna().sum()} line(s) with problems"]
    by_line = failures.dropna(subset=["index"]).groupby("index", sort=True)
    for count, (index, cases) in enumerate(by_line):
        if count == shown:
            lines.append(f"  ... and {by_line.ngroups - shown} more line(s)")
            break
        cells = "; ".join(f"column {c['column']!r}: value {c['failure_case']!r} fails {c['check']}"
                          for _, c in cases.iterrows())
        lines.append(f"  line {int(index) + 2}: {cells}")
    for _, case in failures.loc[failures["index"].isna()].iterrows():
        column = case["column"] if isinstance(case["column"], str) else "(table)"
        lines.append(f"  column {column!r}: {case['failure_case']!r} fails {case['check']}")
    return "\n".join(lines)
