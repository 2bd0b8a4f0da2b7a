"""Patient cohorts from the registry, loaded with explicit checks and sample-id harmonisation.

- TARGET-OS: cell-type fractions deconvolved by Wucheng-tech (CIBERSORT with a single-cell signature),
  the UCSC Xena survival table and the GDC clinical table. The three files spell sample ids differently
  (`TARGET.40.PASUUH.01A` vs `TARGET-40-PASUUH-01A`); `target_sample_id` maps them onto one form.
- ISG/OS2: NanoString PanCancer Immune panel (log2 normalised counts) and its clinical annotations.

Every problem stops with the file, the column and what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyreadr

from ..errors import DataError
from .curated import require_columns
from .markers import harmonise_symbols
from .registry import fetch

TARGET_FRACTIONS = "wucheng_scos/scRNA_celltype_2000_500_result.rds"
TARGET_SURVIVAL = "wucheng_scos/TARGET-OS.survival.tsv"
TARGET_CLINICAL = "osteosarc_prdx2/TARGET-OS.clinical.tsv.gz"
ISG_EXPRESSION = "isg_os2/Norm_count_table.txt"
ISG_METADATA = "isg_os2/metadata.txt"

CIBERSORT_QC = ["P-value", "Correlation", "RMSE"]
TARGET_ID = re.compile(r"^TARGET[-._](\d{2})[-._]([A-Z0-9]{6})[-._](\d{2}[A-Z])$")
METASTASIS = {"Metastasis, NOS": True, "No Metastasis": False}
ISG_CATEGORIES = {"PgP_Status": ["Negative", "Positive"], "HistologicResponse": ["GR", "PR"],
                  "STATUS_OS": [0, 1], "STATUS_EFS": [0, 1], "SEX": ["F", "M"]}



def target_sample_id(raw: str) -> str:
    """`TARGET.40.PASUUH.01A` or `TARGET_40_PASUUH_01A` -> `TARGET-40-PASUUH-01A` (GDC form)."""
    match = TARGET_ID.match(str(raw).strip())
    if not match:
        raise DataError(f"{raw!r} is not a TARGET sample id like TARGET-40-PASUUH-01A "
                          "(project, 6-character case code and sample code, separated by '-', '.' or '_')")
    return "TARGET-{}-{}-{}".format(*match.groups())


def require_values(frame: pd.DataFrame, column: str, allowed: list, source: str) -> None:
    """Raise naming the file, column, offending values and the allowed values (missing values pass)."""
    present = frame[column].dropna()
    bad = sorted(set(present[~present.isin(allowed)]), key=str)
    if bad:
        raise DataError(f"{source}: column {column!r} has value(s) {bad}; allowed: {allowed}")


@dataclass(frozen=True)
class Matching:
    """How many samples of the fractions table found a partner in another table."""
    n_left: int
    n_matched: int
    unmatched: list[str] = field(default_factory=list)


def read_target_fractions(path: Path | None = None) -> pd.DataFrame:
    """Cell-type fractions (rows: GDC sample ids; columns: cell types, each row summing to 1)."""
    path = path or fetch(TARGET_FRACTIONS)
    frame = next(iter(pyreadr.read_r(path).values()))
    require_columns(frame, CIBERSORT_QC, path.name)
    fractions = frame.drop(columns=CIBERSORT_QC)
    fractions.index = [target_sample_id(i) for i in fractions.index]
    totals = fractions.sum(axis=1)
    if ((totals - 1).abs() > 1e-6).any():
        raise DataError(f"{path.name}: fractions do not sum to 1 in {list(totals.index[(totals - 1).abs() > 1e-6])}")
    return fractions


def read_target_survival(path: Path | None = None) -> pd.DataFrame:
    """Xena survival: `os_days`, `os_event` (1 = death) indexed by GDC sample id."""
    path = path or fetch(TARGET_SURVIVAL)
    frame = pd.read_csv(path, sep="\t")
    require_columns(frame, ["sample", "OS", "OS.time", "_PATIENT"], path.name)
    require_values(frame, "OS", [0, 1], path.name)
    frame.index = [target_sample_id(i) for i in frame["sample"]]
    return pd.DataFrame({"patient": frame["_PATIENT"], "os_days": frame["OS.time"].astype(float),
                         "os_event": frame["OS"].astype(int)})


def read_target_clinical(path: Path | None = None) -> pd.DataFrame:
    """GDC clinical: `metastasis_at_diagnosis` (True/False/NA), `vital_status` (Alive/Dead/NA), `age_years`, `sex`."""
    path = path or fetch(TARGET_CLINICAL)
    frame = pd.read_csv(path, sep="\t")
    columns = {"metastasis_at_diagnosis.diagnoses": "metastasis_at_diagnosis",
               "vital_status.demographic": "vital_status", "age_at_index.demographic": "age_years",
               "gender.demographic": "sex"}
    require_columns(frame, ["sample", *columns], path.name)
    require_values(frame, "metastasis_at_diagnosis.diagnoses", list(METASTASIS), path.name)
    frame["vital_status.demographic"] = frame["vital_status.demographic"].replace("Not Reported", pd.NA)
    require_values(frame, "vital_status.demographic", ["Alive", "Dead"], path.name)
    frame.index = [target_sample_id(i) for i in frame["sample"]]
    clinical = frame[list(columns)].rename(columns=columns)
    clinical["metastasis_at_diagnosis"] = clinical["metastasis_at_diagnosis"].map(METASTASIS).astype("boolean")
    return clinical


def join_target() -> tuple[pd.DataFrame, dict[str, Matching]]:
    """Fractions joined to survival and clinical data on the harmonised sample id, with match counts."""
    fractions = read_target_fractions()
    survival, clinical = read_target_survival(), read_target_clinical()
    matching = {name: _match(fractions.index, table.index)
                for name, table in {"survival": survival, "clinical": clinical}.items()}
    if matching["survival"].n_matched == 0:
        raise DataError(f"no sample of {TARGET_FRACTIONS} matched {TARGET_SURVIVAL} after harmonising ids")
    joined = fractions.join(survival, how="inner").join(clinical, how="left")
    return joined, matching


def _match(left: pd.Index, right: pd.Index) -> Matching:
    unmatched = sorted(set(left) - set(right))
    return Matching(n_left=len(left), n_matched=len(left) - len(unmatched), unmatched=unmatched)


def read_isg_os2() -> tuple[pd.DataFrame, pd.DataFrame]:
    """ISG/OS2 expression (genes x patients, log2, current HGNC symbols) and metadata (patients x fields).

    Column names in metadata.txt carry trailing spaces (`HistologicResponse `); they are stripped.
    Patient ids must be identical in both files.
    """
    expression_path, metadata_path = fetch(ISG_EXPRESSION), fetch(ISG_METADATA)
    expression = pd.read_csv(expression_path, sep="\t", index_col=0)
    if expression.index.duplicated().any():
        duplicated = list(expression.index[expression.index.duplicated()])
        raise DataError(f"{expression_path.name}: duplicated genes {duplicated}")
    expression.index = harmonise_symbols(expression.index)
    metadata = pd.read_csv(metadata_path, sep="\t", index_col=0)
    metadata.columns = metadata.columns.str.strip()
    require_columns(metadata, ["OS_months", "EFS_months", *ISG_CATEGORIES], metadata_path.name)
    for column, allowed in ISG_CATEGORIES.items():
        require_values(metadata, column, allowed, metadata_path.name)
    if set(expression.columns) != set(metadata.index):
        only_expr = sorted(set(expression.columns) - set(metadata.index))
        only_meta = sorted(set(metadata.index) - set(expression.columns))
        raise DataError(f"patient ids differ: only in {expression_path.name}: {only_expr}; "
                          f"only in {metadata_path.name}: {only_meta}")
    return expression[metadata.index], metadata
