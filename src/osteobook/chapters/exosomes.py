"""Chapter "CAF exosomal non-coding RNAs": an evidence-graded network, and what the data say about it.

One function per section returns that section's numbers: the curated network with miRTarBase support of its
miRNA -> gene edges (`network`), seed sequences (`sequences`), the convergence test (`convergence`), the
network's genes in patients (`patients`) and the claims audit (`claims_audit`). `analyse` runs them all.
The figure is drawn by `osteobook.plots.network` from `Network.figure_edges`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import autophagy, exosome_tables, genesets, gse21257, mirna
from ..datasets.markers import harmonise_symbols
from ..engine.params import validate
from ..prose import Markdown
from ..stats import mirna_targets, seeds, survival
from ..stats.groups import logistic_per_sd
from ..stats.multiple_testing import adjust

PATHWAYS = {"PI3K_AKT_MTOR_SIGNALING": "PI3K/AKT/mTOR", "MTORC1_SIGNALING": "mTORC1"}
MAIN_SET = "PI3K_AKT_MTOR_SIGNALING"
PI3K_NODE = "PI3K/Akt/mTOR"
STATUS_LABELS = {"verified": "verified (primary paper)", "secondary": "secondary source only",
                 "unverified": "unverified (review only)"}
TABLE_STYLE = [{"selector": "td, th", "props": "padding: 3px 6px; vertical-align: top; text-align: left;"},
               {"selector": "", "props": "font-size: 0.88em;"}]
SHORT_SOURCES = {"mesenchymal stem/stromal cell": "MSC"}  # in tables; the captions spell it out


def listing(items) -> str:
    """'a, b and c' for prose ('none' when empty)."""
    items = [str(i) for i in items]
    return "none" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (so glued values print plainly)."""
    return value.item() if hasattr(value, "item") else value


@lru_cache(maxsize=1)
def _mirtarbase() -> pd.DataFrame:
    """miRTarBase, read once per session (500,000 rows)."""
    return mirna.mirtarbase()


def chosen_names(mirnas: pd.DataFrame, arm: str) -> dict[str, str]:
    """`{network node: miRBase name}`, taking `arm` ('3p'/'5p') where the source does not state the arm."""
    names = {}
    for node, rows in mirnas.groupby("node", sort=False):
        stated = rows.loc[rows["arm_stated"]]
        pick = stated if len(stated) else rows.loc[rows["mirbase_name"].str.endswith(f"-{arm}")]
        names[node] = pick["mirbase_name"].iloc[0]
    return names


# ---- the network and its miRTarBase support ------------------------------------------------------

@dataclass(frozen=True)
class Network:
    """Every curated edge (unverified ones marked), the miRTarBase support of its miRNA -> gene edges."""

    edges: pd.DataFrame  # all rows of data/exosome_edges.csv with `number`, `in_scope` and `support`
    support: pd.DataFrame  # one row per miRNA -> gene edge (both arms where the arm is not stated)
    figure_edges: pd.DataFrame  # the input of `plots.network.network_figure`
    glue: dict[str, Any]
    results: dict[str, Any]


def network(include_unverified: bool, mir1228_arm: str) -> Network:
    """The curated edges with their status, and miRTarBase support (strong / weak / absent) of each miRNA -> gene edge.

    The table and the figure show every edge, unverified ones marked; `include_unverified` decides which edges
    the later analyses use (`in_scope`).
    """
    validate("exosomes", locals())
    edges = exosome_tables.load_edges(include_unverified=True)
    edges.insert(0, "number", np.arange(1, len(edges) + 1))
    edges["in_scope"] = include_unverified | (edges["status"] != "unverified")
    mirnas = exosome_tables.load_mirnas()
    chosen = chosen_names(mirnas, mir1228_arm)
    mti = _mirtarbase()

    targeting = edges.loc[(edges["regulator_type"] == "miRNA") & (edges["target_type"] == "gene")]
    pairs = [(name, row.target_genes, row.edge_id, row.number) for row in targeting.itertuples()
             for name in mirnas.loc[mirnas["node"] == row.regulator_node, "mirbase_name"]]
    support = mirna_targets.interaction_grades(mti, [(m, t) for m, t, *_ in pairs])
    support.insert(0, "edge_id", [e for *_, e, _ in pairs])
    support.insert(0, "number", [n for *_, n in pairs])
    support["chosen"] = support["mirna"].isin(chosen.values())
    grade = support.loc[support["chosen"]].set_index("edge_id")["grade"]
    edges["support"] = edges["edge_id"].map(grade).fillna("")

    strong_records = mti.loc[mti["support_type"] == mirna_targets.STRONG]
    low_throughput = strong_records["experiments"].str.contains("Luciferase|eporter|Western|Immunoblot", regex=True)
    primary = edges.loc[(edges["status"] == "verified") & (edges["source_kind"] == "primary")]
    caf = primary.loc[primary["exosome_source"] == "CAF"]
    shown = support.loc[support["chosen"]]
    glue = {
        "n_edges": len(edges), "n_verified": int((edges["status"] == "verified").sum()),
        "n_secondary": int((edges["status"] == "secondary").sum()),
        "n_unverified": int((edges["status"] == "unverified").sum()),
        "n_primary_papers": primary["bibkey"].nunique(), "n_caf_edges": len(caf),
        "caf_edges": listing(f"{r.regulator_node} → {r.target_node}" for r in caf.itertuples()),
        "n_caf_papers": caf["bibkey"].nunique(),
        "sources_of_primary": listing(f"{source} ({count})" for source, count in
                                      primary["exosome_source"].value_counts().items()),
        "mti_records": len(mti), "mti_strong_records": len(strong_records),
        "mti_strong_lowthroughput": int(low_throughput.sum()),
        "n_mirna_gene_edges": len(shown), "n_mti_strong": int((shown["grade"] == "strong").sum()),
        "n_mti_absent": int((shown["grade"] == "absent").sum()),
        "mti_absent_edges": listing(f"{r.mirna.removeprefix('hsa-')} → {r.target}"
                                    for r in shown.loc[shown["grade"] == "absent"].itertuples()),
        "mti_strong_edges": listing(f"{r.mirna.removeprefix('hsa-')} → {r.target} ({r.mirt_ids}; PMID "
                                    f"{r.strong_pmids})" for r in shown.loc[shown["grade"] == "strong"].itertuples()),
        "mir1228_other_arm": listing(sorted(set(support.loc[(support["target"] == "SCAI") & ~support["chosen"],
                                                            "grade"]))),
        "include_unverified": str(include_unverified),
        "pi3k_edge_list": listing(f"{r.number} ({r.status}; vesicles from: {r.exosome_source})"
                                  for r in edges.loc[edges["target_node"] == PI3K_NODE].itertuples()),
    }
    figure_edges = edges[["number", "claim_id", "regulator_node", "regulator_type", "target_node", "target_type",
                          "exosome_source", "status", "support"]].copy()
    results = {"edges": edges[["number", "edge_id", "claim_id", "status", "source_kind", "exosome_source",
                               "in_scope", "support"]].to_dict(orient="records"),
               "support": support.to_dict(orient="records"), "mti_records": len(mti),
               "mti_strong_records": len(strong_records)}
    return Network(edges, support, figure_edges, glue, results)


# ---- sequences -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sequences:
    """Mature sequences, seeds, seed families and the exosome-enriched match of the network's miRNAs."""

    table: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def sequences(mir1228_arm: str) -> Sequences:
    """Seeds (nt 2-8) from miRBase, human seed-family members, and exact matches among exosome-enriched sequences."""
    validate("exosomes", locals())
    mirnas = exosome_tables.load_mirnas()
    chosen = set(chosen_names(mirnas, mir1228_arm).values())
    mature = mirna.mature_sequences("hsa")
    raw_exosomal = mirna.exosomal_sequences()
    cleaned = {key: seeds.clean_rna(value) for key, value in raw_exosomal.items()}
    exosomal = {key: rna for key, (rna, _) in cleaned.items()}
    trailing = {key: rest for key, (_, rest) in cleaned.items() if rest}
    by_sequence: dict[str, list[str]] = {}
    for name, sequence in mature.items():
        by_sequence.setdefault(sequence, []).append(name)
    named = {key: by_sequence.get(rna, []) for key, rna in exosomal.items()}
    exosomal_names = {name for names in named.values() for name in names}
    families = seeds.seed_families(mature)

    rows = []
    for row in mirnas.itertuples():
        sequence = mature.get(row.mirbase_name)
        if sequence is None:
            rows.append({"mirna": row.mirbase_name, "in_mirbase": False})
            continue
        seed = seeds.seed(sequence)
        family = [n for n in families[seed] if n != row.mirbase_name]
        matches = seeds.exact_matches(sequence, exosomal)
        rows.append({
            "node": row.node, "mirna": row.mirbase_name, "in_mirbase": True,
            "arm": "stated" if row.arm_stated else ("chosen (arm not stated)" if row.mirbase_name in chosen
                                                    else "other arm (not stated)"),
            "in_review": bool(row.in_review), "sequence": sequence, "length": len(sequence),
            "gc": seeds.gc_content(sequence), "seed": seed, "site_7mer_m8": seeds.target_sites(sequence)["7mer-m8"],
            "family": family, "exosomal_ids": matches, "exosome_enriched": bool(matches),
            "family_exosomal": sorted(n for n in family if n in exosomal_names)})
    table = pd.DataFrame(rows)
    found = table.loc[table["in_mirbase"]]
    review = found.loc[found["in_review"]]
    glue = {
        "n_mature_human": len(mature), "n_exosomal": len(raw_exosomal),
        "n_exosomal_named": sum(bool(v) for v in named.values()),
        "n_exosomal_ambiguous": sum(len(v) > 1 for v in named.values()),
        "exosomal_malformed": listing(f"{key} (a stray '{rest}' after its {len(exosomal[key])} nt)"
                                      for key, rest in trailing.items()),
        "enriched_review": listing(review.loc[review["exosome_enriched"], "mirna"].str.removeprefix("hsa-")),
        "not_enriched_review": listing(review.loc[~review["exosome_enriched"], "mirna"].str.removeprefix("hsa-")),
        "missing_in_mirbase": listing(table.loc[~table["in_mirbase"], "mirna"]),
        "mir2861_gc": float(found.set_index("mirna").at["hsa-miR-2861", "gc"]),
        "mir2861_length": int(found.set_index("mirna").at["hsa-miR-2861", "length"]),
        "mature_less_gc": float(np.mean([seeds.gc_content(v) < found.set_index("mirna").at["hsa-miR-2861", "gc"]
                                         for v in mature.values()])),
        "mature_longer": float(np.mean([len(v) > found.set_index("mirna").at["hsa-miR-2861", "length"]
                                        for v in mature.values()])),
        "mir21_seed": found.set_index("mirna").at["hsa-miR-21-5p", "seed"],
        "mir21_site": found.set_index("mirna").at["hsa-miR-21-5p", "site_7mer_m8"],
    }
    results = {"rows": table.to_dict(orient="records"), "n_exosomal": len(raw_exosomal),
               "n_exosomal_named": glue["n_exosomal_named"], "malformed": trailing}
    return Sequences(table, glue, results)


# ---- the convergence test ------------------------------------------------------------------------

@dataclass(frozen=True)
class Convergence:
    """Enrichment of the review miRNAs' validated targets in hallmark PI3K/AKT/mTOR and mTORC1 genes."""

    mirnas: list[str]
    tests: pd.DataFrame  # one row per hallmark set: k, n, K, N, p, BH q, permutation p (matched, uniform)
    per_mirna: pd.DataFrame  # each miRNA alone, and the set without it
    full_universe: pd.DataFrame  # the same targets against every miRTarBase target gene
    verdict: str  # category of the PI3K/AKT/mTOR result (see `convergence_verdict`)
    glue: dict[str, Any]
    results: dict[str, Any]


def review_mirnas(include_unverified: bool, mir1228_arm: str) -> list[str]:
    """miRBase names of the review's miRNAs that take part in at least one edge in scope."""
    validate("exosomes", locals())
    edges = exosome_tables.load_edges(include_unverified=include_unverified)
    nodes = set(edges["regulator_node"]) | set(edges["target_node"])
    mirnas = exosome_tables.load_mirnas()
    names = chosen_names(mirnas.loc[mirnas["in_review"]], mir1228_arm)
    return [name for node, name in names.items() if node in nodes]


def convergence_verdict(q: float, permutation_p: float, leave_one_out_max: float, alpha: float) -> str:
    """The rule for the convergence claim, applied to the PI3K/AKT/mTOR test.

    'not enriched' (BH q >= alpha); 'no more than random miRNAs' (q < alpha but the target-count-matched
    permutation p >= alpha); 'carried by one miRNA' (both < alpha, but leaving one miRNA out gives p >= alpha);
    'robust' (all three < alpha).
    """
    validate("exosomes", locals())
    if not q < alpha:
        return "not enriched"
    if not permutation_p < alpha:
        return "no more than random miRNAs"
    if not leave_one_out_max < alpha:
        return "carried by one miRNA"
    return "robust"


VERDICT_TEXT = {
    "not enriched": "The validated targets of these miRNAs are **not enriched** for {label} genes (q = {q:.2g}).",
    "no more than random miRNAs": (
        "Against the gene universe, the targets are enriched for {label} genes (p = {p:.2g}, q = {q:.2g}), but "
        "**no more than the targets of random miRNA sets with similar numbers of validated targets** (permutation "
        "p = {perm:.2g}): the overlap reflects how well studied these miRNAs and genes are, not a shared pathway."),
    "carried by one miRNA": (
        "The targets are enriched for {label} genes, also against random miRNA sets (permutation p = {perm:.2g}), "
        "but the signal is **carried by {driver}**: without it p = {loo:.2g}."),
    "robust": ("The targets are enriched for {label} genes against the universe (q = {q:.2g}), against random miRNA "
               "sets (permutation p = {perm:.2g}), and without any single miRNA (largest p = {loo:.2g})."),
}


TAKEAWAY_TEXT = {
    "not enriched": ("The “convergence on PI3K/Akt” is not supported: {k} of the {n} validated targets of {mirnas} "
                     "are hallmark PI3K/AKT/mTOR genes, no more than expected by chance (p = {p:.2g})."),
    "no more than random miRNAs": (
        "The “convergence on PI3K/Akt” is not supported: {k} of the {n} validated targets of {mirnas} are hallmark "
        "PI3K/AKT/mTOR genes (hypergeometric p = {p:.2g}), but random miRNA sets with as many validated targets "
        "overlap the set as much (permutation p = {perm:.2f}), and without {driver} the other miRNAs' targets "
        "overlap it in {k_without}."),
    "carried by one miRNA": (
        "The overlap of the targets of {mirnas} with hallmark PI3K/AKT/mTOR genes ({k} of {n}; permutation p = "
        "{perm:.2g}) is carried by {driver}: without it, {k_without} of the genes remain. One miRNA is not a "
        "convergence."),
    "robust": ("The validated targets of {mirnas} converge on hallmark PI3K/AKT/mTOR genes ({k} of {n}), beyond "
               "random miRNA sets (permutation p = {perm:.2g}) and without any single miRNA."),
}


def convergence(include_unverified: bool, evidence: str, n_permutations: int, match_pool: int, alpha: float,
                seed: int, mir1228_arm: str) -> Convergence:
    """Hypergeometric and permutation tests of the review miRNAs' validated targets in two hallmark sets."""
    chapter = validate("exosomes", locals())
    rng = np.random.default_rng(seed)
    chosen = review_mirnas(include_unverified, mir1228_arm)
    mti = _mirtarbase()
    sets = mirna_targets.target_sets(mti, evidence)
    universe = set().union(*sets.values())
    everything = set().union(*mirna_targets.target_sets(mti, "any").values())
    hallmark = genesets.hallmark()
    targets = set().union(*(sets[m] for m in chosen))

    rows, per_mirna, full = [], [], []
    for name, label in PATHWAYS.items():
        genes = set(hallmark[name])
        test = mirna_targets.set_enrichment(targets, genes, universe)
        nulls = {null: mirna_targets.random_set_test(sets, chosen, genes, universe, n_permutations, rng, null,
                                                     match_pool) for null in mirna_targets.NULLS}
        rows.append({"set": name, "label": label, **test, "p_matched": nulls["matched"]["p"],
                     "p_uniform": nulls["uniform"]["p"], "null_matched": nulls["matched"],
                     "null_uniform": nulls["uniform"]})
        for mirna_name in chosen:
            alone = mirna_targets.set_enrichment(set(sets[mirna_name]), genes, universe)
            rest = set().union(*(sets[m] for m in chosen if m != mirna_name))
            without = mirna_targets.set_enrichment(rest, genes, universe)
            per_mirna.append({"set": name, "mirna": mirna_name, "k": alone["k"], "n": alone["n"], "p": alone["p"],
                              "genes": alone["genes"], "k_without": without["k"], "n_without": without["n"],
                              "p_without": without["p"]})
        full.append({"set": name, **mirna_targets.set_enrichment(targets, genes, everything)})
    tests = pd.DataFrame(rows)
    tests["q"] = adjust(tests["p"])
    per_mirna, full = pd.DataFrame(per_mirna), pd.DataFrame(full)

    main = tests.set_index("set").loc[MAIN_SET]
    loo = per_mirna.loc[per_mirna["set"] == MAIN_SET].set_index("mirna")
    driver = loo["p_without"].idxmax()
    verdict = convergence_verdict(main["q"], main["p_matched"], loo["p_without"].max(), alpha)
    short = [m.removeprefix("hsa-") for m in chosen]
    mtorc1 = tests.set_index("set").loc["MTORC1_SIGNALING"]
    glue = {
        "conv_mirnas": listing(short), "conv_n_mirnas": len(chosen),
        "evidence_label": chapter.label("evidence", evidence), "n_permutations": n_permutations,
        "match_pool": match_pool, "alpha": alpha,
        "universe_n": len(universe), "universe_mirnas": sum(bool(s & universe) for s in sets.values()),
        "all_targets_n": len(everything), "conv_targets_n": int(main["n"]),
        "pi3k_K": int(main["K"]), "pi3k_set_size": len(hallmark[MAIN_SET]), "pi3k_k": int(main["k"]),
        "pi3k_genes": listing(main["genes"]), "pi3k_p": float(main["p"]), "pi3k_q": float(main["q"]),
        "pi3k_perm_matched": float(main["p_matched"]), "pi3k_perm_uniform": float(main["p_uniform"]),
        "pi3k_fraction": float(main["k"] / main["n"]),
        "pi3k_random_fraction": float(main["null_matched"]["random_fraction_mean"]),
        "mtorc1_K": int(mtorc1["K"]), "mtorc1_set_size": len(hallmark["MTORC1_SIGNALING"]),
        "mtorc1_k": int(mtorc1["k"]), "mtorc1_p": float(mtorc1["p"]), "mtorc1_q": float(mtorc1["q"]),
        "mtorc1_perm_matched": float(mtorc1["p_matched"]),
        "pi3k_driver": driver.removeprefix("hsa-"), "pi3k_driver_k": int(loo.at[driver, "k"]),
        "pi3k_without_driver_p": float(loo.at[driver, "p_without"]),
        "pi3k_without_driver_k": int(loo.at[driver, "k_without"]),
        "pik3r1_in_hallmark": "is" if "PIK3R1" in hallmark[MAIN_SET] else "is not",
        "pi3k_full_p": float(full.set_index("set").at[MAIN_SET, "p"]),
        "pi3k_full_N": int(full.set_index("set").at[MAIN_SET, "N"]),
        "convergence_verdict": verdict,
        "convergence_takeaway": Markdown(TAKEAWAY_TEXT[verdict].format(
            k=int(main["k"]), n=int(main["n"]), mirnas=listing(short), p=main["p"], perm=main["p_matched"],
            driver=driver.removeprefix("hsa-"), k_without=int(loo.at[driver, "k_without"]))),
        "mtorc1_text": Markdown(
            f"The mTORC1 hallmark {'shows no' if not mtorc1['q'] < alpha else 'also shows an'} overlap beyond chance "
            f"({int(mtorc1['k'])} of {int(mtorc1['n'])} targets, p = {mtorc1['p']:.2f}, q = {mtorc1['q']:.2f})."),
        "convergence_text": Markdown(VERDICT_TEXT[verdict].format(
            label=PATHWAYS[MAIN_SET], p=main["p"], q=main["q"], perm=main["p_matched"],
            driver=driver.removeprefix("hsa-"), loo=loo["p_without"].max())),
    }
    results = {"evidence": evidence, "mirnas": chosen, "universe_n": len(universe), "all_targets_n": len(everything),
               "tests": tests.drop(columns=["null_matched", "null_uniform"]).to_dict(orient="records"),
               "nulls": {r["set"]: {"matched": r["null_matched"], "uniform": r["null_uniform"]} for r in rows},
               "per_mirna": per_mirna.to_dict(orient="records"), "full_universe": full.to_dict(orient="records"),
               "verdict": verdict}
    return Convergence(chosen, tests, per_mirna, full, verdict, glue, results)


# ---- the network's genes in patients -------------------------------------------------------------

@dataclass(frozen=True)
class Patients:
    """Protein-coding genes of the network in GSE21257: Cox models of survival and logistic models of metastasis."""

    genes: list[str]
    data: pd.DataFrame  # one row per biopsy: survival, metastasis, the genes' expression
    cox: pd.DataFrame
    metastasis: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def network_genes(include_unverified: bool) -> list[str]:
    """HGNC symbols of the protein-coding nodes of the edges in scope, in table order."""
    validate("exosomes", locals())
    edges = exosome_tables.load_edges(include_unverified=include_unverified)
    symbols = [g for column in ("regulator_genes", "target_genes") for cell in edges[column].dropna()
               for g in cell.split(";")]
    order = {g: i for i, g in enumerate(g for row in edges.itertuples() for cell in
                                         (row.regulator_genes, row.target_genes) if isinstance(cell, str)
                                         for g in cell.split(";"))}
    return sorted(set(symbols), key=order.get)


def patients(include_unverified: bool, alpha: float) -> Patients:
    """Cox per SD (overall survival) and logistic per SD (metastasis within 5 years) in GSE21257, BH over genes."""
    validate("exosomes", locals())
    genes = network_genes(include_unverified)
    expression, table, _ = gse21257.join_survival()
    expression.index = harmonise_symbols(expression.index)
    present = [g for g in genes if g in expression.index]
    data = table.join(expression.loc[present].T)
    cox = survival.univariable_cox(data, "futime", "fustate", present)
    cox["q"] = adjust(cox["p"])
    metastasis = pd.DataFrame([{"term": g, **logistic_per_sd(data[g], data["metastasis"])} for g in present])
    metastasis["q"] = adjust(metastasis["p"])
    merged = autophagy.read_matrix()
    cohorts = autophagy.cohort_of(merged.columns).value_counts()
    in_merged = [g for g in genes if g in merged.index]

    def named(frame: pd.DataFrame) -> str:
        return listing(frame["term"])

    sig_cox, sig_met = cox.loc[cox["q"] < alpha], metastasis.loc[metastasis["q"] < alpha]
    survival_text = (f"none of the network's {len(present)} measured genes is associated with overall survival "
                     f"(smallest BH q = {cox['q'].min():.2f})" if sig_cox.empty else
                     "; ".join(f"*{r.term}* is associated with {'shorter' if r.hr > 1 else 'longer'} overall "
                               f"survival (HR {r.hr:.2f} per SD, q = {r.q:.2g})" for r in sig_cox.itertuples()))
    metastasis_text = (f"none with metastasis (smallest q = {metastasis['q'].min():.2f})" if sig_met.empty else
                       "; ".join(f"*{r.term}* goes with {'fewer' if r.odds_ratio < 1 else 'more'} metastases "
                                 f"(odds ratio {r.odds_ratio:.2f} per SD, 95% CI {r.ci_low:.2f}–{r.ci_high:.2f}, "
                                 f"q = {r.q:.2g})" for r in sig_met.itertuples()))
    smallest = metastasis.loc[metastasis["p"].idxmin()]
    glue = {
        "gse_n": len(data), "gse_events": int(data["fustate"].sum()), "gse_metastasis": int(data["metastasis"].sum()),
        "gse_genes": len(expression), "network_genes": listing(genes), "genes_present": listing(present),
        "genes_absent": listing(g for g in genes if g not in present), "n_genes_tested": len(present),
        "match_r_min": float(table["r_best"].min()),
        "match_margin_min": float((table["r_best"] - table["r_second"]).min()),
        "n_cox_sig": len(sig_cox), "cox_sig": named(sig_cox), "cox_min_q": float(cox["q"].min()),
        "patients_text": Markdown(f"In {len(data)} GSE21257 patients, {survival_text}; {metastasis_text}."),
        "n_met_sig": len(sig_met), "met_sig": named(sig_met),
        "met_top_gene": smallest["term"], "met_top_or": float(smallest["odds_ratio"]),
        "met_top_low": float(smallest["ci_low"]), "met_top_high": float(smallest["ci_high"]),
        "met_top_q": float(smallest["q"]),
        "merged_genes": len(merged), "merged_target": int(cohorts.get("TARGET", 0)),
        "merged_gse": int(cohorts.get("GSE21257", 0)), "merged_present": listing(in_merged),
        **{f"hr_{g}": float(r.hr) for g, r in cox.set_index("term").iterrows()},
        **{f"hr_{g}_low": float(r.ci_low) for g, r in cox.set_index("term").iterrows()},
        **{f"hr_{g}_high": float(r.ci_high) for g, r in cox.set_index("term").iterrows()},
    }
    results = {"genes": genes, "present": present, "cox": cox.to_dict(orient="records"),
               "metastasis": metastasis.to_dict(orient="records"), "matches": table["gsm"].to_dict(),
               "autophagy_present": in_merged}
    return Patients(present, data, cox, metastasis, glue, results)


# ---- the claims audit ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Claims:
    """Each claim of review sections 4.3, 5.4 and 6 with the evidence found and a verdict made by a stated rule."""

    table: pd.DataFrame
    studies: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def mechanism_verdict(claimed: list[str], edges: pd.DataFrame, donor_cells: dict[str, str]) -> tuple[str, str]:
    """(category, verdict) of a mechanism claim from its edges in scope.

    No verified edge with a primary source: 'unverified' (or 'secondary only' when a secondary record exists).
    Otherwise the donor cells of the primary papers (`donor_cells` by bibkey, else the edge's vesicle source)
    decide: all claimed donors found -> 'supported (n studies)', some -> 'partly supported', none -> 'donor mismatch'.
    """
    primary = edges.loc[(edges["status"] == "verified") & (edges["source_kind"] == "primary")]
    if primary.empty:
        if (edges["status"] == "secondary").any():
            return "secondary only", "Secondary source only: no primary paper found"
        return "unverified", "Unverified: no primary paper found"
    donors = {donor_cells.get(key, source) for key, source in zip(primary["bibkey"], primary["exosome_source"],
                                                                   strict=True)}
    studies = primary["bibkey"].nunique()
    found = [d for d in claimed if d in donors]
    if len(found) == len(claimed):
        return "supported", f"Supported by {studies} stud{'y' if studies == 1 else 'ies'}, not replicated"
    if found:
        missing = listing(d for d in claimed if d not in donors)
        return "partly supported", f"Partly supported: shown for {listing(found)}, not for {missing}"
    return "donor mismatch", f"Donor mismatch: the primary paper used {listing(sorted(donors))}, not {listing(claimed)}"


def synthesis_verdict(pi3k_papers: int, convergence_category: str) -> tuple[str, str]:
    """The convergence claim: supported only with two or more primary papers reaching PI3K/Akt/mTOR and a robust
    enrichment of the miRNAs' targets (see `convergence_verdict`)."""
    if pi3k_papers >= 2 and convergence_category == "robust":
        return "supported", "Supported: independent axes reach PI3K/Akt/mTOR and the targets converge"
    return "not supported", (f"Not supported: {pi3k_papers} primary paper{'' if pi3k_papers == 1 else 's'} "
                             f"reach{'es' if pi3k_papers == 1 else ''} PI3K/Akt/mTOR; targets: {convergence_category}")


def claims_audit(include_unverified: bool, conv: Convergence) -> Claims:
    """Apply the verdict rules to every claim; grade the primary studies behind each (assay, MISEV items, donor)."""
    validate("exosomes", locals())
    claims = exosome_tables.load_claims()
    edges = exosome_tables.load_edges(include_unverified=include_unverified)
    studies = exosome_tables.load_studies()
    studies["misev_seen"] = studies[list(exosome_tables.MISEV_ITEMS)].apply(
        lambda row: int(row.str.startswith("reported").sum()), axis=1)
    studies["misev_assessed"] = studies[list(exosome_tables.MISEV_ITEMS)].apply(
        lambda row: int((~row.str.startswith("not applicable")).sum()), axis=1)
    by_study = studies.set_index("bibkey")
    donor_cells = by_study["donor_cell"].to_dict()
    primary_edges = edges.loc[(edges["status"] == "verified") & (edges["source_kind"] == "primary")]
    pi3k_papers = primary_edges.loc[primary_edges["target_node"] == PI3K_NODE, "bibkey"].nunique()

    rows = []
    for claim in claims.itertuples():
        own = edges.loc[edges["claim_id"] == claim.claim_id]
        claimed = claim.claimed_donor.split(";") if isinstance(claim.claimed_donor, str) else []
        if claim.claim_type == "therapeutic":
            category, verdict = "preclinical", "Preclinical proposal: not tested in the primary papers read"
        elif claim.claim_type == "synthesis":
            category, verdict = synthesis_verdict(pi3k_papers, conv.verdict)
        else:
            category, verdict = mechanism_verdict(claimed, own, donor_cells)
        prim = own.loc[(own["status"] == "verified") & (own["source_kind"] == "primary")]
        keys = [k for k in prim["bibkey"].unique() if k in by_study.index]
        assay = (min(prim["assay_class"], key=exosome_tables.ASSAY_CLASSES.index) if len(prim) else "")
        rows.append({
            "claim_id": claim.claim_id, "section": claim.section, "claim": claim.claim, "quote": claim.quote,
            "claimed_donor": " or ".join(claimed),
            "donor_found": listing(sorted({donor_cells.get(k, v) for k, v in zip(
                prim["bibkey"], prim["exosome_source"], strict=True)})) if len(prim) else "",
            "osteosarcoma": "yes" if len(prim) and bool(prim["osteosarcoma"].all()) else ("" if prim.empty else "no"),
            "assay": assay, "edges": listing(own["edge_id"]) if len(own) else "",
            "misev": listing(f"{by_study.at[k, 'misev_seen']} of {by_study.at[k, 'misev_assessed']} items seen "
                             f"({by_study.at[k, 'text_read']})" for k in keys if by_study.at[k, 'misev_assessed']),
            "donor_identity": listing(by_study.at[k, "donor_identity"] for k in keys),
            "discrepancy": claim.discrepancy, "category": category, "verdict": verdict})
    table = pd.DataFrame(rows)
    counts = table["category"].value_counts()
    glue = {"n_claims": len(table), **{f"claims_{c.replace(' ', '_')}": int(counts.get(c, 0)) for c in
                                       ["supported", "partly supported", "donor mismatch", "unverified",
                                        "secondary only", "preclinical", "not supported"]},
            "pi3k_papers": pi3k_papers,
            **{f"verdict_{r.claim_id}": r.verdict for r in table.itertuples()},
            "studies_misev_max": int(studies["misev_seen"].max()),
            "study_misev_best": studies.loc[studies["misev_seen"].idxmax(), "study"]}
    results = {"claims": table[["claim_id", "category", "verdict", "edges"]].to_dict(orient="records"),
               "pi3k_papers": pi3k_papers,
               "studies": studies[["bibkey", "misev_seen", "misev_assessed"]].to_dict(orient="records")}
    return Claims(table, studies, glue, results)


# ---- the whole chapter ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Exosomes:
    """The sections' numbers, every glued value and the key results."""

    network: Network
    sequences: Sequences
    convergence: Convergence
    patients: Patients
    claims: Claims
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(seed: int, include_unverified: bool, evidence: str, n_permutations: int, match_pool: int, alpha: float,
            mir1228_arm: str) -> Exosomes:
    """The whole chapter with its parameters."""
    validate("exosomes", locals())
    net = network(include_unverified, mir1228_arm)
    seqs = sequences(mir1228_arm)
    conv = convergence(include_unverified, evidence, n_permutations, match_pool, alpha, seed, mir1228_arm)
    pts = patients(include_unverified, alpha)
    audit = claims_audit(include_unverified, conv)
    glue = {**net.glue, **seqs.glue, **conv.glue, **pts.glue, **audit.glue}
    glue["summary_text"] = Markdown(_summary(glue))
    glue["report_convergence"] = Markdown(REPORT_TEXT[conv.verdict].format(**glue))
    glue["report_patients"] = Markdown(
        f"In {glue['gse_n']} GSE21257 patients, "
        + (f"none of {glue['n_genes_tested']} network genes was associated with overall survival"
           if glue["n_cox_sig"] == 0 else f"{glue['cox_sig']} {'was' if glue['n_cox_sig'] == 1 else 'were'} "
           "associated with overall survival")
        + f" (Cox per SD, smallest BH q = {glue['cox_min_q']:.2f}).")
    results = {"network": net.results, "sequences": seqs.results, "convergence": conv.results,
               "patients": pts.results, "claims": audit.results}
    return Exosomes(net, seqs, conv, pts, audit, {k: _plain(v) for k, v in glue.items()}, results)


REPORT_TEXT = {
    "not enriched": ("did not overlap the hallmark PI3K/AKT/mTOR set beyond chance ({pi3k_k} of {conv_targets_n} "
                     "genes, hypergeometric p = {pi3k_p:.2g} against the {universe_n:,} genes with miRTarBase "
                     "evidence of the same level)."),
    "no more than random miRNAs": (
        "overlapped the hallmark PI3K/AKT/mTOR set in {pi3k_k} of {conv_targets_n} genes (hypergeometric p = "
        "{pi3k_p:.2g} against the {universe_n:,} genes with miRTarBase evidence of the same level), no more than "
        "random miRNA sets matched on the number of validated targets (permutation p = {pi3k_perm_matched:.2f}, "
        "{n_permutations:,} sets)."),
    "carried by one miRNA": (
        "overlapped the hallmark PI3K/AKT/mTOR set in {pi3k_k} of {conv_targets_n} genes (permutation p = "
        "{pi3k_perm_matched:.2g} against target-number-matched random miRNA sets), but {pi3k_driver_k} of the "
        "genes were targets of {pi3k_driver} alone."),
    "robust": ("overlapped the hallmark PI3K/AKT/mTOR set in {pi3k_k} of {conv_targets_n} genes, beyond random genes "
               "(hypergeometric p = {pi3k_p:.2g}), random miRNA sets (permutation p = {pi3k_perm_matched:.2g}) and "
               "any single miRNA."),
}


def _summary(glue: dict[str, Any]) -> str:
    """The one-paragraph answer of the chapter, from its numbers."""
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    return (f"Of the {glue['n_edges']} edges curated from the review's exosome sections, "
            f"{count(glue['n_caf_edges'], 'edge')} ({glue['caf_edges']}) "
            f"{'rests' if glue['n_caf_edges'] == 1 else 'rest'} on a primary paper whose vesicles came from CAFs; "
            f"{count(glue['claims_donor_mismatch'], 'claim')} "
            f"{'names' if glue['claims_donor_mismatch'] == 1 else 'name'} CAFs where the primary paper used other "
            f"cells, "
            f"and {count(glue['n_unverified'], 'edge')} have no primary paper at all. {glue['convergence_text']}")


# ---- tables for readers --------------------------------------------------------------------------

def _link(url: str, text: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'


def _pubmed(pmids: str) -> str:
    """'1; 2' as PubMed links ('—' when empty)."""
    ids = [p for p in pmids.split("; ") if p]
    return ", ".join(_link(f"https://pubmed.ncbi.nlm.nih.gov/{p}/", p) for p in ids) or "—"


def _styled(table: pd.DataFrame, caption: str, monospace: list[str] | None = None) -> pd.io.formats.style.Styler:
    """A reader-facing HTML table: no index, the book's cell padding, a caption, monospace sequence columns."""
    styler = table.style.hide(axis="index").set_table_styles(TABLE_STYLE).set_caption(caption)
    return styler.set_properties(subset=monospace, **{"font-family": "monospace"}) if monospace else styler


def _source_cell(row) -> str:
    """Where the value was read (a link), the DOI/PMID links, and the model and quote one click away."""
    parts = [_link(row.source_url, row.source_location)]
    if isinstance(row.doi, str):
        parts.append(_link(f"https://doi.org/{row.doi}", "DOI"))
    if isinstance(row.pmid, str):
        parts.append(_link(f"https://pubmed.ncbi.nlm.nih.gov/{row.pmid}/", f"PMID {row.pmid}"))
    model = f"<br><i>Model:</i> {html.escape(row.model)}" if isinstance(row.model, str) else ""
    return " · ".join(parts) + f"<details><summary>quote</summary>“{html.escape(row.quote)}”{model}</details>"


def edge_table(result: Exosomes) -> pd.io.formats.style.Styler:
    """Every edge of the figure: row number, vesicle source, strongest assay, status and the quoted source."""
    edges = result.network.edges
    status = edges["status"].map(STATUS_LABELS) + np.where(edges["in_scope"], "", "; not analysed")
    return _styled(pd.DataFrame({
        "#": edges["number"],
        "Edge (claim)": [f"<b>{html.escape(r.regulator_node)}</b> {r.relation} <b>{html.escape(r.target_node)}</b> "
                         f"({r.claim_id})" for r in edges.itertuples()],
        "Vesicles from": edges["exosome_source"].replace(SHORT_SOURCES).map(html.escape),
        "Strongest assay": edges["assay_class"],
        "Status": status,
        "Source": [_source_cell(r) for r in edges.itertuples()],
    }), "data/exosome_edges.csv: one row per arrow of the figure (MSC: mesenchymal stem/stromal cell). Open "
        "'quote' for the sentence and the model.")


def support_table(result: Exosomes) -> pd.io.formats.style.Styler:
    """miRTarBase support of every miRNA -> gene edge (both arms where the source names none), PMIDs linked."""
    s = result.network.support
    return _styled(pd.DataFrame({
        "#": s["number"],
        "miRNA → target": [f"{m.removeprefix('hsa-')} → {t}" + ("" if c else "<br><small>other arm</small>")
                           for m, t, c in zip(s["mirna"], s["target"], s["chosen"], strict=True)],
        "Grade (MIRT id)": [g + (f"<br><small>{i}</small>" if i else "")
                            for g, i in zip(s["grade"], s["mirt_ids"], strict=True)],
        "PMIDs: strong; weak records": [f"{_pubmed(a)}; {_pubmed(b)}" if a or b else "—"
                                        for a, b in zip(s["strong_pmids"], s["weak_pmids"], strict=True)],
        "Assays of the strong records": s["experiments"].str.replace(";", ",").replace("", "—"),
    }), "miRTarBase records of the miRNA → gene edges (strong: reporter assay or western blot).")


def seed_table(result: Exosomes) -> pd.io.formats.style.Styler:
    """Sequences, seeds, seed families and the exosome-enriched match."""
    t = result.sequences.table.loc[result.sequences.table["in_mirbase"]]

    def family(names: list[str]) -> str:
        short = [n.removeprefix("hsa-") for n in names]
        return ", ".join(short[:4]) + (f" and {len(short) - 4} more" if len(short) > 4 else "") if short else "none"

    notes = {"stated": "", "chosen (arm not stated)": "arm not stated; analysed",
             "other arm (not stated)": "arm not stated; other arm"}
    label = [f"{m.removeprefix('hsa-')}" + (f"<br><small>{notes[a]}</small>" if notes[a] else "")
             + ("" if r else "<br><small>not in the review</small>")
             for m, a, r in zip(t["mirna"], t["arm"], t["in_review"], strict=True)]
    return _styled(pd.DataFrame({
        "miRNA": label, "Mature sequence 5′→3′": t["sequence"],
        "nt, GC": [f"{n}, {g:.0%}" for n, g in zip(t["length"], t["gc"], strict=True)],
        "Seed (nt 2–8)": t["seed"], "7mer-m8 site": t["site_7mer_m8"],
        "Seed family (other human miRNAs)": t["family"].map(family),
        "Exosome-enriched": [(", ".join(ids) if ids else "no")
                             + (f"<br><small>family: {family(f)}</small>" if f else "")
                             for ids, f in zip(t["exosomal_ids"], t["family_exosomal"], strict=True)],
    }), "miRBase mature sequences; exosome-enriched: exact match of the whole sequence among the AdmirePred set.",
        monospace=["Mature sequence 5′→3′", "Seed (nt 2–8)", "7mer-m8 site"])


def convergence_table(result: Exosomes) -> pd.DataFrame:
    """The two hallmark tests, one column per set."""
    t = result.convergence.tests.set_index("label")
    return pd.DataFrame({
        "targets in the set (k / n)": t["k"].astype(str) + " / " + t["n"].astype(str),
        "set genes in the universe (K / N)": t["K"].astype(str) + " / " + t["N"].astype(str),
        "hypergeometric p": t["p"].map("{:.2g}".format), "BH q (two sets)": t["q"].map("{:.2g}".format),
        "permutation p, matched on target number": t["p_matched"].map("{:.3f}".format),
        "permutation p, uniform": t["p_uniform"].map("{:.3f}".format),
        "overlapping genes": t["genes"].map(lambda g: ", ".join(g) or "none"),
    }).T.rename_axis(None, axis=1)


def per_mirna_table(result: Exosomes) -> pd.DataFrame:
    """Each miRNA alone, and the set without it (PI3K/AKT/mTOR and mTORC1)."""
    t = result.convergence.per_mirna
    return pd.DataFrame({
        "Hallmark set": t["set"].map(PATHWAYS), "miRNA": t["mirna"].str.removeprefix("hsa-"),
        "alone: k / n": t["k"].astype(str) + " / " + t["n"].astype(str), "alone: p": t["p"].map("{:.2g}".format),
        "set without it: k / n": t["k_without"].astype(str) + " / " + t["n_without"].astype(str),
        "without it: p": t["p_without"].map("{:.2g}".format)}).set_index(["Hallmark set", "miRNA"])


def patients_table(result: Exosomes) -> pd.DataFrame:
    """Cox and logistic models per gene, per standard deviation of expression."""
    cox = result.patients.cox.set_index("term")
    met = result.patients.metastasis.set_index("term")

    def ci(frame: pd.DataFrame, estimate: str) -> pd.Series:
        return (frame[estimate].map("{:.2f}".format) + " (" + frame["ci_low"].map("{:.2f}".format) + "–"
                + frame["ci_high"].map("{:.2f}".format) + ")")

    return pd.DataFrame({"Overall survival: HR per SD (95% CI)": ci(cox, "hr"),
                         "BH q (survival)": cox["q"].map("{:.2f}".format),
                         "5-year metastasis: OR per SD (95% CI)": ci(met, "odds_ratio"),
                         "BH q (metastasis)": met["q"].map("{:.2g}".format)}).rename_axis("Gene")


def claims_table(result: Exosomes) -> pd.io.formats.style.Styler:
    """The claims audit: the review's sentence, what was found, and the verdict of the stated rule."""
    t = result.claims.table

    def short(text: str) -> str:
        for long, abbreviation in SHORT_SOURCES.items():
            text = text.replace(long, abbreviation)
        return html.escape(text)

    def evidence(c) -> str:
        lines = [f"donor cells: {c.claimed_donor or '—'} (claimed) / {c.donor_found or '—'} (paper)"
                 if c.claimed_donor else "", f"strongest assay: {c.assay}" if c.assay else "",
                 f"osteosarcoma: {c.osteosarcoma}" if c.osteosarcoma else "",
                 f"MISEV items: {c.misev}" if c.misev != "none" else ""]
        return "<br>".join(short(x) for x in lines if x) or "—"

    return _styled(pd.DataFrame({
        "Claim (section)": [f"<b>{c.claim_id}</b> {html.escape(c.claim)} ({c.section})<details><summary>review"
                            f"</summary>“{html.escape(c.quote)}”</details>" for c in t.itertuples()],
        "Evidence found": [evidence(c) for c in t.itertuples()],
        "Discrepancy": t["discrepancy"].map(html.escape),
        "Verdict": [f"<b>{short(v)}</b>" for v in t["verdict"]],
    }), "Claims of review sections 4.3, 5.4 and 6 (data/exosome_claims.csv); verdicts generated by the rules above. "
        "MSC: mesenchymal stem/stromal cell.")


def studies_table(result: Exosomes) -> pd.io.formats.style.Styler:
    """The studies behind the edges: donor identity and the vesicle-study items seen."""
    s = result.claims.studies
    items = ["<br>".join(f"{label}: {html.escape(row[item])}" for item, label in exosome_tables.MISEV_ITEMS.items())
             for _, row in s.iterrows()]
    return _styled(pd.DataFrame({
        "Study (text read)": [f"{html.escape(a)}<br><small>{html.escape(b)}</small>"
                              for a, b in zip(s["study"], s["text_read"], strict=True)],
        "Donor cells": s["donor_identity"].map(html.escape), "Vesicle-study items (MISEV)": items,
        "Cargo": s["cargo_loading"].map(html.escape),
        "Target reporter; replication": s["target_reporter"] + "; " + s["replication"],
    }), "data/exosome_studies.csv: what the texts read report; 'not seen' is not 'not done'.")


def key_numbers(result: Exosomes) -> pd.Series:
    """Numbers the page checks on every run (nbval compares them with the stored output)."""
    tests = result.convergence.tests.set_index("set")
    return pd.Series({"edges (all)": result.glue["n_edges"],
                      "edges from CAF vesicles, primary paper": result.glue["n_caf_edges"],
                      "PI3K/AKT/mTOR hypergeometric p": f"{tests.at[MAIN_SET, 'p']:.4g}",
                      "GSE21257 biopsies": result.glue["gse_n"]}, name="value", dtype=object)
