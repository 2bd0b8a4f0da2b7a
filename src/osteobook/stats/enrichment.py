"""Over-representation of gene sets among single-cell cluster markers (hypergeometric test).

Enrichment asks, for each single-cell cluster and marker set: are the set's genes over-represented
among the cluster's positive markers? The hypergeometric test needs a gene universe; Seurat's
`FindAllMarkers` output only lists genes that passed its filters, so the universe is every gene
reported for any cluster (a conservative choice: the true tested universe is larger).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from ..errors import ParameterError, check_choice
from .multiple_testing import adjust

ENRICHMENT_SCORES = ("hypergeometric", "mean_log2fc")


def enrichment(markers: pd.DataFrame, sets: dict[str, list[str]], max_padj: float = 0.05,
               min_log2fc: float = 0.25) -> pd.DataFrame:
    """Hypergeometric enrichment of each set among each cluster's positive markers, with BH q-values.

    Columns: cluster, set, k (set genes among the cluster's markers), K (set genes in the universe),
    n (cluster markers), N (universe), p_value, q_value (BH over all rows), mean_log2fc (sum of the
    set genes' log2 fold changes in the cluster divided by K, i.e. genes that are not markers count 0),
    genes (the overlap).
    """
    universe = set(markers["gene"])
    selected = markers.loc[(markers["p_val_adj"] < max_padj) & (markers["avg_log2FC"] >= min_log2fc)]
    rows = []
    for cluster, group in selected.groupby("cluster", sort=False):
        fold = dict(zip(group["gene"], group["avg_log2FC"], strict=False))
        for name, genes in sets.items():
            in_universe = sorted(set(genes) & universe)
            overlap = [g for g in in_universe if g in fold]
            rows.append({"cluster": cluster, "set": name, "k": len(overlap), "K": len(in_universe),
                         "n": len(fold), "N": len(universe),
                         "p_value": hypergeom_p(len(overlap), len(universe), len(in_universe), len(fold)),
                         "mean_log2fc": sum(fold[g] for g in overlap) / len(in_universe) if in_universe else np.nan,
                         "genes": ", ".join(overlap)})
    table = pd.DataFrame(rows)
    table["q_value"] = adjust(table["p_value"], "BH")
    return table.sort_values(["cluster", "set"], key=_natural).reset_index(drop=True)


def hypergeom_p(k: int, N: int, K: int, n: int) -> float:
    """P(X >= k) when drawing n of N genes of which K are in the set."""
    if not 0 <= k <= min(K, n) or K > N or n > N:
        raise ParameterError(f"impossible counts: k={k}, N={N}, K={K}, n={n}")
    return float(hypergeom.sf(k - 1, N, K, n)) if K else 1.0


def _natural(column: pd.Series) -> pd.Series:
    """Sort key: numeric cluster ids as numbers, other text as is."""
    return column.map(lambda v: int(v) if str(v).isdigit() else v) if column.name == "cluster" else column


def passes(table: pd.DataFrame, score: str, alpha: float, min_mean_log2fc: float) -> pd.Series:
    """Whether each enrichment row counts as enriched: q < alpha ('hypergeometric') or mean log2FC >= threshold."""
    check_choice("score", score, ENRICHMENT_SCORES)
    if score == "hypergeometric":
        return table["q_value"] < alpha
    return table["mean_log2fc"] >= min_mean_log2fc


def cluster_calls(table: pd.DataFrame, subtypes: list[str], gate: str = "pan-CAF", min_gate: int = 2,
                  score: str = "hypergeometric", alpha: float = 0.05, min_mean_log2fc: float = 0.5) -> pd.DataFrame:
    """Per cluster: is it fibroblast-like (>= `min_gate` genes of the `gate` set among its markers), and which
    subtypes pass; `call` joins the passing subtypes of fibroblast-like clusters ('none' if no subtype passes)."""
    if gate not in set(table["set"]):
        raise ParameterError(f"gate set {gate!r} is not in the enrichment table; sets: {sorted(set(table['set']))}")
    wide = table.assign(passes=passes(table, score, alpha, min_mean_log2fc)).pivot(
        index="cluster", columns="set", values="passes")
    counts = table.loc[table["set"] == gate].set_index("cluster")["k"]
    calls = pd.DataFrame({"gate_k": counts.reindex(wide.index), **{s: wide[s] for s in subtypes if s in wide}})
    calls["fibroblast_like"] = calls["gate_k"] >= min_gate
    passing = calls[[s for s in subtypes if s in calls]].apply(lambda row: " + ".join(row.index[row]) or "none", axis=1)
    calls["call"] = passing.where(calls["fibroblast_like"], "not fibroblast-like")
    return calls.sort_index(key=lambda i: i.map(lambda v: int(v) if str(v).isdigit() else v))
