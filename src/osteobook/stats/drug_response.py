"""Where a group of cell lines (e.g. osteosarcoma) sits among all lines screened with a drug: rank tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from .multiple_testing import adjust

EXACT_MAX_N = 50  # as R's wilcox.test: the exact null distribution when both groups have fewer values and no ties


def mann_whitney(a, b) -> tuple[float, float, str]:
    """Two-sided Mann–Whitney U of `a` against `b`: (U of `a`, p, method).

    The p-value is exact (the permutation distribution of U) when both groups have fewer than
    `EXACT_MAX_N` values and no value is tied, as R's `wilcox.test` does by default; otherwise it is the
    normal approximation with tie and continuity corrections (R's `correct = TRUE`).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    tied = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
    method = "exact" if len(a) < EXACT_MAX_N and len(b) < EXACT_MAX_N and not tied else "asymptotic"
    u, p = stats.mannwhitneyu(a, b, alternative="two-sided", method=method, use_continuity=True)
    return float(u), float(p), method



def drug_label(column: str) -> str:
    """'Sorafenib_1085' -> 'Sorafenib (GDSC 1085)'."""
    name, _, drug_id = column.rpartition("_")
    return f"{name} (GDSC {drug_id})"


def compare_lines(values: pd.Series, group: set[int]) -> dict[str, float]:
    """Rank comparison of one drug's ln IC50 in `group` lines versus all other screened lines.

    Returns the Mann–Whitney U test (two-sided; exact or normal approximation by `mann_whitney`'s rule,
    named in `p_method`), the probability that a group line has the higher ln IC50 (ties count half;
    0.5 = no difference, above 0.5 = group more resistant), the rank-biserial correlation 2·P − 1, and
    the Hodges–Lehmann shift (median of all pairwise differences) in ln units.
    """
    values = values.dropna()
    inside = values[values.index.isin(group)].to_numpy()
    outside = values[~values.index.isin(group)].to_numpy()
    if len(inside) == 0 or len(outside) == 0:
        raise ParameterError("both groups need at least one screened line")
    u, p, method = mann_whitney(inside, outside)
    prob = u / (len(inside) * len(outside))
    return {"n_group": len(inside), "n_other": len(outside), "median_group": float(np.median(inside)),
            "median_other": float(np.median(outside)), "u": float(u), "p": float(p), "p_method": method,
            "prob_group_higher": float(prob), "rank_biserial": float(2 * prob - 1),
            "hodges_lehmann": float(np.median(np.subtract.outer(inside, outside)))}


def screened(response: pd.DataFrame, drugs: list[str], group: set[int]) -> pd.DataFrame:
    """How many lines, and how many `group` lines, have a value for each drug."""
    return pd.DataFrame([{"drug": drug, "label": drug_label(drug), "n_lines": int(response[drug].notna().sum()),
                          "n_group": int(response[drug].dropna().index.isin(group).sum())} for drug in drugs])


def compare_drugs(response: pd.DataFrame, drugs: list[str], group: set[int], min_group: int = 3) -> pd.DataFrame:
    """`compare_lines` for each drug with at least `min_group` group lines screened; Holm-adjusted p-values."""
    counts = screened(response, drugs, group)
    kept = counts.loc[counts["n_group"] >= min_group, "drug"]
    table = pd.DataFrame([{"drug": drug, "label": drug_label(drug), **compare_lines(response[drug], group)}
                          for drug in kept])
    table["p_holm"] = adjust(table["p"], "Holm")
    return table


def percentiles(values: pd.Series, group: set[int]) -> pd.Series:
    """Percentile rank (0–100, mid-rank for ties) of each group line among all lines screened with the drug."""
    values = values.dropna()
    ranks = values.rank(method="average")
    return ((ranks - 0.5) / len(values) * 100)[values.index.isin(group)]
