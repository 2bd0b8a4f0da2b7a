"""Gene-set scores from expression matrices: probes to genes, z-scores, per-sample set scores."""
from __future__ import annotations

import pandas as pd

from ..errors import DataError, check_choice

COLLAPSE_METHODS = ("max_mean", "mean")
SCORING_METHODS = ("mean_z", "median_z")


def collapse_probes(expression: pd.DataFrame, probe_map: pd.DataFrame, method: str = "max_mean") -> pd.DataFrame:
    """Genes x samples from probes x samples: the probe with the highest mean, or the mean of probes."""
    check_choice("probe_collapse", method, COLLAPSE_METHODS)
    absent = sorted(set(probe_map["probe_id"]) - set(expression.index))
    if absent:
        raise DataError(f"probe(s) {absent} of the probe map are not in the expression table")
    rows = expression.loc[probe_map["probe_id"]]
    genes = probe_map.set_index("probe_id")["gene"]
    if method == "mean":
        return rows.groupby(genes, sort=False).mean()
    best = rows.mean(axis=1).groupby(genes, sort=False).idxmax()
    return rows.loc[best.to_numpy()].set_axis(best.index)


def zscore_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row centred on its mean and divided by its SD (n - 1)."""
    sd = frame.std(axis=1)
    flat = sd.index[~(sd > 0)].tolist()
    if flat:
        raise DataError(f"gene(s) {flat} do not vary across samples: they cannot be z-scored")
    return frame.sub(frame.mean(axis=1), axis=0).div(sd, axis=0)


def gene_set_score(expression: pd.DataFrame, genes: list[str], method: str = "mean_z") -> pd.Series:
    """Per-sample score of a gene set: mean (or median) of the genes' z-scores across samples."""
    check_choice("scoring_method", method, SCORING_METHODS)
    present = [g for g in dict.fromkeys(genes) if g in expression.index]
    if not present:
        raise DataError(f"none of the genes {sorted(genes)[:10]} is in the expression table")
    z = zscore_rows(expression.loc[present])
    return (z.mean() if method == "mean_z" else z.median()).rename(f"{method} of {len(present)} genes")
