"""The exosome chapter's results (`_build/results/default/exosomes.json`) against independent references.

miRTarBase, the hallmark sets, miRBase and the exosome-enriched sequences are re-read here with the csv, gzip
and plain-text readers (not the book's loaders); the hypergeometric p-values are recomputed with
`scipy.stats.hypergeom`, by summing binomial coefficients, and with R `phyper`. In GSE21257 the biopsy-to-GSM
match is recomputed from the raw files and every Cox and logistic model is refitted with R
(`survival::coxph`, `glm`).

Tolerances: counts exactly; p-values to a relative 1e-9 (SciPy, binomial sums) and 1e-8 (R, printed with 15
significant digits); Cox coefficients and standard errors to 1e-6 absolute, Wald p-values, confidence limits
and odds ratios to 1e-5 relative. R's `glm` runs with `epsilon = 1e-14`: at its default (1e-8) it stops
earlier than statsmodels and its Wald p-values differ in the fourth significant digit.
"""
from __future__ import annotations

import csv
import gzip
from math import comb

import numpy as np
import pandas as pd
import pyreadr
import pytest
from scipy.stats import hypergeom, spearmanr

from osteobook.datasets.registry import fetch
from tests.conftest import bh, chapter_results
from tests.r_reference import run_r

pytestmark = pytest.mark.book
STRONG = "Functional MTI"
SETS = ["PI3K_AKT_MTOR_SIGNALING", "MTORC1_SIGNALING"]
DEFAULT_MIRNAS = ["hsa-miR-21-5p", "hsa-miR-1228-3p", "hsa-miR-183-5p"]


@pytest.fixture(scope="module")
def results():
    return chapter_results("exosomes")


@pytest.fixture(scope="module")
def strong_targets() -> dict[str, set[str]]:
    """miRNA -> genes with at least one 'Functional MTI' record, read with the csv module."""
    targets: dict[str, set[str]] = {}
    with open(fetch("mirtarbase/hsa_MTI.csv"), newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["Support Type"] == STRONG:
                targets.setdefault(row["miRNA"], set()).add(row["Target Gene"])
    return targets


@pytest.fixture(scope="module")
def hallmark() -> dict[str, set[str]]:
    sets = {}
    for line in fetch("genesets/h.all.v7.5.1.symbols.gmt").read_text().splitlines():
        name, _, *genes = line.split("\t")
        sets[name.removeprefix("HALLMARK_")] = {g for g in genes if g}
    return sets


def hypergeometric_by_hand(k: int, N: int, K: int, n: int) -> float:
    return sum(comb(K, i) * comb(N - K, n - i) for i in range(k, min(K, n) + 1)) / comb(N, n)


# ---- the convergence test ------------------------------------------------------------------------

def test_counts_rebuilt_from_the_raw_files(results, strong_targets, hallmark):
    parameters = results["parameters"]
    assert parameters["evidence"] == "strong" and not parameters["include_unverified"]
    conv = results["convergence"]
    assert conv["mirnas"] == DEFAULT_MIRNAS
    universe = set().union(*strong_targets.values())
    targets = set().union(*(strong_targets[m] for m in DEFAULT_MIRNAS))
    assert conv["universe_n"] == len(universe) == 2766
    for row in conv["tests"]:
        genes = hallmark[row["set"]] & universe
        overlap = targets & genes
        assert (row["k"], row["n"], row["K"], row["N"]) == (len(overlap), len(targets), len(genes), len(universe))
        assert row["genes"] == sorted(overlap)


def test_hypergeometric_p_values_match_scipy_and_binomial_sums(results):
    rows = results["convergence"]["tests"] + results["convergence"]["full_universe"]
    for row in rows:
        k, n, K, N = row["k"], row["n"], row["K"], row["N"]
        assert row["p"] == pytest.approx(hypergeom.sf(k - 1, N, K, n), rel=1e-9)
        assert row["p"] == pytest.approx(hypergeometric_by_hand(k, N, K, n), rel=1e-9)
    for row in results["convergence"]["per_mirna"]:
        N, K = {r["set"]: (r["N"], r["K"]) for r in results["convergence"]["tests"]}[row["set"]]
        assert row["p"] == pytest.approx(hypergeometric_by_hand(row["k"], N, K, row["n"]), rel=1e-9)
        assert row["p_without"] == pytest.approx(hypergeometric_by_hand(row["k_without"], N, K, row["n_without"]),
                                                 rel=1e-9)


@pytest.mark.r
def test_hypergeometric_p_values_match_r_phyper(results):
    rows = results["convergence"]["tests"] + results["convergence"]["full_universe"]
    calls = "\n".join(f'emit("r{i}", list(p = phyper({r["k"] - 1}, {r["K"]}, {r["N"] - r["K"]}, {r["n"]}, '
                      f'lower.tail = FALSE)))' for i, r in enumerate(rows))
    r = run_r(calls)
    for i, row in enumerate(rows):
        assert row["p"] == pytest.approx(r[f"r{i}.p"], rel=1e-8)


def test_bh_q_over_the_two_sets(results):
    tests = results["convergence"]["tests"]
    assert [row["q"] for row in tests] == pytest.approx(list(bh(np.array([row["p"] for row in tests]))), rel=1e-12)


def test_permutation_p_values_are_counts_over_b_plus_one(results):
    b = results["parameters"]["n_permutations"]
    for name, nulls in results["convergence"]["nulls"].items():
        for null, test in nulls.items():
            assert test["n_permutations"] == b, (name, null)
            extreme = test["p"] * (b + 1) - 1
            assert extreme == pytest.approx(round(extreme), abs=1e-6) and 0 <= round(extreme) <= b


# ---- miRTarBase support and sequences ------------------------------------------------------------

def test_mirtarbase_support_rebuilt_from_the_raw_file(results):
    records: dict[tuple[str, str], list[dict[str, str]]] = {}
    with open(fetch("mirtarbase/hsa_MTI.csv"), newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            records.setdefault((row["miRNA"], row["Target Gene"]), []).append(row)
    for row in results["network"]["support"]:
        found = records.get((row["mirna"], row["target"]), [])
        strong = [r for r in found if r["Support Type"] == STRONG]
        assert row["records"] == len(found)
        assert set(row["strong_pmids"].split("; ")) - {""} == {r["References (PMID)"] for r in strong}
        assert (row["grade"] == "strong") == bool(strong)
        assert (row["grade"] == "absent") == (not found)


def test_seeds_and_exosome_matches_from_the_raw_fasta_files(results):
    mature, name = {}, None
    with gzip.open(fetch("mirbase/mature.fa.gz"), "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
            elif name and name.startswith("hsa-"):
                mature[name] = mature.get(name, "") + line.strip()
    exosomal = {}
    for line in fetch("exosomal_mirna/exosomal_seq.fa").read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].strip()
            exosomal[name] = ""
        else:
            exosomal[name] += line.strip()
    assert results["sequences"]["n_exosomal"] == len(exosomal) == 348
    for row in results["sequences"]["rows"]:
        sequence = mature[row["mirna"]]
        assert row["sequence"] == sequence and row["seed"] == sequence[1:8]
        matches = sorted(key for key, value in exosomal.items() if value.split(">")[0].replace("T", "U") == sequence)
        assert row["exosomal_ids"] == matches, row["mirna"]


# ---- GSE21257 ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gse21257(results) -> pd.DataFrame:
    """Biopsies with survival, metastasis and the network genes, joined by the chapter's match (checked here)."""
    objects = pyreadr.read_r(fetch("gse21257_lionessr/OSdata.RData"))
    expression, targets = objects["exp"], objects["targets"]
    merged = pd.read_csv(fetch("lqz_autophagy/merge.txt"), sep="\t", index_col=0)
    clinical = pd.read_csv(fetch("lqz_autophagy/clinical.txt"), sep="\t", index_col=0)
    matches = results["patients"]["matches"]
    gsm = [c for c in merged.columns if c.startswith("GSM")]
    shared = expression.index.intersection(merged.index)
    for biopsy, chosen in matches.items():
        rho = {g: spearmanr(expression.loc[shared, biopsy], merged.loc[shared, g])[0] for g in gsm}
        assert max(rho, key=rho.get) == chosen, biopsy
    assert len(set(matches.values())) == len(matches) == 53
    data = clinical.loc[[matches[b] for b in expression.columns], ["futime", "fustate"]].set_axis(expression.columns)
    data["metastasis"] = (targets.set_index("sample")["mets"].astype(str) == "yes").astype(int)
    aliases = {"CXCL8": "IL8"}  # the Illumina annotation predates the HGNC rename
    for gene in results["patients"]["present"]:
        data[gene] = expression.loc[aliases.get(gene, gene)]
    return data


def test_network_genes_present_and_absent(results):
    expression = pyreadr.read_r(fetch("gse21257_lionessr/OSdata.RData"))["exp"]
    aliases = {"CXCL8": "IL8"}
    present = [g for g in results["patients"]["genes"] if aliases.get(g, g) in expression.index]
    assert results["patients"]["present"] == present
    assert {"SCAI", "ERG"} <= set(results["patients"]["genes"]) - set(present)


@pytest.mark.r
def test_cox_and_logistic_models_match_r(results, gse21257, tmp_path):
    path = tmp_path / "gse21257.csv"
    gse21257.to_csv(path, index=False)
    genes = results["patients"]["present"]
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        for (g in c({", ".join(f'"{g}"' for g in genes)})) {{
          d$x <- as.numeric(scale(d[[g]]))
          s <- summary(coxph(Surv(futime, fustate) ~ x, data = d))
          emit(paste0("cox_", g), list(coef = s$coefficients["x", "coef"], se = s$coefficients["x", "se(coef)"],
                                       p = s$coefficients["x", "Pr(>|z|)"], low = s$conf.int["x", "lower .95"],
                                       high = s$conf.int["x", "upper .95"], n = s$n, events = s$nevent))
          m <- summary(glm(metastasis ~ x, family = binomial, data = d,
                            control = glm.control(epsilon = 1e-14, maxit = 100)))$coefficients
          emit(paste0("glm_", g), list(or = exp(m["x", "Estimate"]), se = m["x", "Std. Error"],
                                       p = m["x", "Pr(>|z|)"]))
        }}
    """)
    cox = {row["term"]: row for row in results["patients"]["cox"]}
    logistic = {row["term"]: row for row in results["patients"]["metastasis"]}
    for g in genes:
        assert cox[g]["coef"] == pytest.approx(r[f"cox_{g}.coef"], abs=1e-6), g
        assert cox[g]["se"] == pytest.approx(r[f"cox_{g}.se"], abs=1e-6), g
        assert cox[g]["p"] == pytest.approx(r[f"cox_{g}.p"], rel=1e-5), g
        assert (cox[g]["ci_low"], cox[g]["ci_high"]) == pytest.approx((r[f"cox_{g}.low"], r[f"cox_{g}.high"]),
                                                                      rel=1e-5), g
        assert (cox[g]["n"], cox[g]["events"]) == (r[f"cox_{g}.n"], r[f"cox_{g}.events"])
        assert logistic[g]["odds_ratio"] == pytest.approx(r[f"glm_{g}.or"], rel=1e-5), g
        assert logistic[g]["p"] == pytest.approx(r[f"glm_{g}.p"], rel=1e-5), g
        wald = np.exp(np.log(r[f"glm_{g}.or"]) + np.array([-1, 1]) * 1.959963984540054 * r[f"glm_{g}.se"])
        assert (logistic[g]["ci_low"], logistic[g]["ci_high"]) == pytest.approx(tuple(wald), rel=1e-5), g
    for table in ("cox", "metastasis"):
        rows = results["patients"][table]
        assert [row["q"] for row in rows] == pytest.approx(list(bh(np.array([row["p"] for row in rows]))))
