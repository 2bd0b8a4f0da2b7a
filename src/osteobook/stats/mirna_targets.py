"""Validated miRNA targets (miRTarBase): evidence grades, and whether a miRNA set's targets are enriched in a gene set.

miRTarBase labels each interaction record by support type. "Functional MTI" records come from low-throughput
experiments (reporter assay, western blot, qPCR); "Functional MTI (Weak)" records mostly from high-throughput
ones (CLIP, microarray, sequencing); "Non-Functional" records found no effect. Here an interaction is *strong*
when it has at least one "Functional MTI" record and *weak* when it has only weak functional records.

Enrichment of a miRNA set's targets in a gene set is a one-sided hypergeometric test against a stated gene
universe. Well-studied miRNAs have many validated targets, and well-studied genes (often cancer pathway genes)
are validated targets of many miRNAs, so the universe alone is a weak null. `random_set_test` therefore
also compares the observed p-value with those of random miRNA sets of the same size, either drawn uniformly
or matched on the number of validated targets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from ..errors import ParameterError, check_choice
from .enrichment import hypergeom_p

STRONG = "Functional MTI"
WEAK = "Functional MTI (Weak)"
EVIDENCE = {"strong": (STRONG,), "any": (STRONG, WEAK)}
NULLS = ("matched", "uniform")


def _join(values) -> str:
    return "; ".join(sorted(set(values), key=lambda v: (len(v), v)))


def interaction_grades(mti: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Per (miRNA, target): 'strong', 'weak', 'non-functional only' or 'absent', with MIRT ids, PMIDs and assays."""
    rows = []
    for mirna, target in pairs:
        records = mti.loc[(mti["mirna"] == mirna) & (mti["target"] == target)]
        strong = records.loc[records["support_type"] == STRONG]
        weak = records.loc[records["support_type"] == WEAK]
        grade = ("strong" if len(strong) else "weak" if len(weak) else
                 "non-functional only" if len(records) else "absent")
        rows.append({"mirna": mirna, "target": target, "grade": grade, "records": len(records),
                     "mirt_ids": _join(records["mirt_id"]), "strong_pmids": _join(strong["pmid"]),
                     "weak_pmids": _join(weak["pmid"]),
                     "experiments": _join(e for exp in strong["experiments"] for e in exp.split("//"))})
    return pd.DataFrame(rows)


def target_sets(mti: pd.DataFrame, evidence: str) -> dict[str, frozenset[str]]:
    """`{miRNA: its target genes}` counting records of the support types of `evidence` ('strong' or 'any')."""
    check_choice("evidence", evidence, EVIDENCE)
    kept = mti.loc[mti["support_type"].isin(EVIDENCE[evidence])]
    return {mirna: frozenset(group) for mirna, group in kept.groupby("mirna")["target"]}


def set_enrichment(targets: set[str], gene_set: set[str], universe: set[str]) -> dict[str, object]:
    """k of the n targets (in the universe) are in the gene set (K of its genes in the universe of N): P(X >= k)."""
    hits = targets & universe
    members = gene_set & universe
    overlap = sorted(hits & members)
    return {"k": len(overlap), "n": len(hits), "K": len(members), "N": len(universe),
            "p": hypergeom_p(len(overlap), len(universe), len(members), len(hits)), "genes": overlap}


def matched_pools(sizes: pd.Series, chosen: list[str], pool_size: int) -> dict[str, list[str]]:
    """For each chosen miRNA, the `pool_size` other miRNAs closest to it in number of targets (ties by name)."""
    others = sizes.drop(chosen, errors="ignore")
    if len(others) < pool_size:
        raise ParameterError(f"only {len(others)} other miRNAs: a pool of {pool_size} cannot be drawn")
    pools = {}
    for mirna in chosen:
        distance = (others - sizes[mirna]).abs()
        order = sorted(distance.index, key=lambda name: (distance[name], name))
        pools[mirna] = order[:pool_size]
    return pools


def random_set_test(sets: dict[str, frozenset[str]], chosen: list[str], gene_set: set[str], universe: set[str],
                    n_permutations: int, rng: np.random.Generator, null: str = "matched",
                    pool_size: int = 50) -> dict[str, object]:
    """Permutation p-value of the chosen set's enrichment p-value among random miRNA sets of the same size.

    Each random set draws one miRNA per chosen miRNA (from its `matched_pools` when `null` is 'matched', from all
    other miRNAs with a target in the universe when 'uniform'), without repeats. p = (1 + number of random sets
    whose enrichment p-value is at most the observed one) / (1 + n_permutations).
    """
    check_choice("null", null, NULLS)
    missing = [m for m in chosen if m not in sets]
    if missing:
        raise ParameterError(f"miRNA(s) {missing} have no targets at this evidence level")
    genes = sorted(universe)
    column = {gene: i for i, gene in enumerate(genes)}
    names = sorted(m for m, targets in sets.items() if targets & universe)
    row = {name: i for i, name in enumerate(names)}
    membership = np.zeros((len(names), len(genes)), dtype=bool)
    for name in names:
        membership[row[name], [column[g] for g in sets[name] & universe]] = True
    in_set = np.isin(np.array(genes), sorted(gene_set & universe))
    observed = set_enrichment(set().union(*(sets[m] for m in chosen)), gene_set, universe)
    draws = _draws(names, chosen, membership.sum(axis=1), n_permutations, rng, null, pool_size, row)
    k, n = _counts(membership, in_set, draws)
    p_random = hypergeom.sf(k - 1, len(genes), int(in_set.sum()), n)
    p_random[k == 0] = 1.0
    extreme = int(np.sum(p_random <= observed["p"] * (1 + 1e-9)))
    return {"null": null, "n_permutations": n_permutations, "pool_size": pool_size if null == "matched" else None,
            "observed_p": observed["p"], "p": (1 + extreme) / (1 + n_permutations),
            "observed_fraction": observed["k"] / observed["n"] if observed["n"] else float("nan"),
            "random_fraction_mean": float(np.mean(np.divide(k, n, out=np.zeros(len(k)), where=n > 0))),
            "random_k_median": float(np.median(k))}


def _draws(names: list[str], chosen: list[str], sizes: np.ndarray, n_permutations: int, rng: np.random.Generator,
           null: str, pool_size: int, row: dict[str, int]) -> np.ndarray:
    """n_permutations x len(chosen) row indices of `names`, no repeats within a row, never a chosen miRNA."""
    candidates = np.array([row[m] for m in names if m not in chosen])
    if null == "uniform":
        return np.stack([rng.choice(candidates, size=len(chosen), replace=False) for _ in range(n_permutations)])
    pools = matched_pools(pd.Series(sizes, index=names), chosen, pool_size)
    columns = [np.array([row[m] for m in pools[c]]) for c in chosen]
    draws = np.stack([rng.choice(pool, size=n_permutations) for pool in columns], axis=1)
    for _ in range(1000):  # redraw rows in which two pools gave the same miRNA
        repeated = np.array([len(set(r)) < len(r) for r in draws])
        if not repeated.any():
            return draws
        draws[repeated] = np.stack([rng.choice(pool, size=int(repeated.sum())) for pool in columns], axis=1)
    raise ParameterError("could not draw miRNA sets without repeats: the matched pools overlap too much")


def _counts(membership: np.ndarray, in_set: np.ndarray, draws: np.ndarray,
            chunk: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Per random set: targets in the gene set (k) and targets in the universe (n) of the union of its miRNAs."""
    k, n = np.empty(len(draws), dtype=int), np.empty(len(draws), dtype=int)
    for start in range(0, len(draws), chunk):
        union = membership[draws[start:start + chunk]].any(axis=1)
        n[start:start + chunk] = union.sum(axis=1)
        k[start:start + chunk] = (union & in_set).sum(axis=1)
    return k, n
