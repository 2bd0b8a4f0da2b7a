"""The autophagy-signature data of the Lqz-DC repositories: GSE21257 + TARGET-OS, 139 patients.

- `merge.txt`: 193 autophagy-related genes x 139 samples (53 GSE21257 `GSM…` + 86 `TARGET…`), log2,
  described by its authors as batch-corrected (the cohorts' gene means still differ: chapters z-score
  within cohort).
- `clinical.txt`: `futime` (days), `fustate` (1 = dead), `Gender`, `Group`, `Age` per sample id.
"""
from __future__ import annotations

import pandas as pd

from ..errors import DataError
from .curated import require_columns
from .registry import fetch

MATRIX = "lqz_autophagy/merge.txt"
CLINICAL = "lqz_autophagy/clinical.txt"


def read_matrix() -> pd.DataFrame:
    """Genes x samples, sample ids as in the file (`GSM…`, `TARGET…`)."""
    path = fetch(MATRIX)
    matrix = pd.read_csv(path, sep="\t", index_col=0)
    if matrix.index.duplicated().any():
        raise DataError(f"{path.name}: duplicated genes {sorted(set(matrix.index[matrix.index.duplicated()]))}")
    return matrix


def read_clinical(samples: pd.Index | None = None) -> pd.DataFrame:
    """Survival and clinical columns per sample, in the order of `samples` when given."""
    path = fetch(CLINICAL)
    clinical = pd.read_csv(path, sep="\t", index_col=0)
    require_columns(clinical, ["futime", "fustate"], path.name)
    return clinical if samples is None else clinical.reindex(samples)


def cohort_of(samples: pd.Index) -> pd.Series:
    """'TARGET' or 'GSE21257' for each sample id."""
    return pd.Series(["TARGET" if s.startswith("TARGET") else "GSE21257" for s in samples], index=samples)


CIBERSORT = "lqz_autophagy/CIBERSORT-Results.txt"
CIBERSORT_QC = ["P-value", "Correlation", "RMSE"]


def read_cibersort() -> tuple[pd.DataFrame, pd.DataFrame]:
    """LM22 fractions (samples x 22 cell types) and the deconvolution's quality columns, per sample id."""
    path = fetch(CIBERSORT)
    table = pd.read_csv(path, sep="\t", index_col=0)
    require_columns(table, CIBERSORT_QC, path.name)
    fractions = table.drop(columns=CIBERSORT_QC)
    if ((fractions.sum(axis=1) - 1).abs() > 1e-6).any():
        raise DataError(f"{path.name}: fractions do not sum to 1 for every sample")
    return fractions, table[CIBERSORT_QC]
