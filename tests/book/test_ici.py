"""The ICI chapter's numbers, checked against R and against values recomputed here from the raw files.

Tolerances:
- metafor (`rma.glmm`, `rma`): 5e-5, i.e. agreement to 4 decimals; lme4's optimiser behind `rma.glmm`
  stops at about 1e-5, so closer agreement would test stopping rules, not the model.
- `survival::coxph` (Efron ties, the default): coefficients and SEs to 1e-6, p-values to a relative 1e-5
  (lifelines is run with tightened convergence, see `osteobook.stats.survival`).
- Beta-binomial maximum likelihood: 1e-4 against an independent R implementation (`lbeta`, `optimize`,
  `uniroot`), whose own tolerances are about 1e-6 on the rate.
- Everything recomputed in Python here (Spearman, Fisher, beta quantiles): to floating-point precision.
"""
from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pyreadr
import pytest
from scipy import stats

from osteobook.datasets import gse21257, trials
from osteobook.datasets.registry import fetch
from osteobook.paths import DATA, NOTEBOOKS
from osteobook.stats.meta_analysis import MEASURES
from tests.conftest import bh, chapter_results, clopper_pearson
from tests.r_reference import r_vector, run_r

pytestmark = pytest.mark.book
TOL = 5e-5
GLMM_FIELDS = ["estimate", "se", "ci_low", "ci_high", "tau2", "proportion", "proportion_ci_low", "proportion_ci_high"]
ALIASES = {"IL8": "CXCL8", "CTGF": "CCN2"}
CHECKPOINTS = ["CD274", "PDCD1", "CTLA4", "LAG3", "HAVCR2", "TIGIT", "IDO1"]


@pytest.fixture(scope="module")
def results() -> dict:
    return chapter_results("ici")


# ---- trials --------------------------------------------------------------------------------------

def glmm_line(label: str, x, n) -> str:
    return f'emit_fit("{label}", rma.glmm(measure="PLO", xi={r_vector(x)}, ni={r_vector(n)}), {r_vector(n)}, "PLO")'


@pytest.fixture(scope="module")
def metafor(results) -> dict[str, float]:
    """Every GLMM and inverse-variance fit of the chapter, refitted by metafor from the chapter's inputs."""
    lines = []
    for i, (group, data) in enumerate(results["trials"]["glmm_inputs"].items()):
        if len(data["n"]) >= 2 and sum(data["events"]) > 0:
            lines.append(glmm_line(f"g{i}", data["events"], data["n"]))
        for transform in MEASURES:
            lines.append(f'emit_fit("iv{i}{transform[0]}", rma(measure="{MEASURES[transform]}", '
                         f'xi={r_vector(data["events"])}, ni={r_vector(data["n"])}, method="REML"), '
                         f'{r_vector(data["n"])}, "{MEASURES[transform]}")')
    pooled = results["trials"]["apatinib"]["pooled"]
    lines.append(glmm_line("apatinib", pooled["events"], pooled["n"]))
    return run_r("\n".join(lines))


@pytest.mark.r
def test_every_glmm_matches_rma_glmm(results, metafor):
    groups = list(results["trials"]["glmm_inputs"])
    checked = 0
    for i, group in enumerate(groups):
        if f"g{i}.estimate" not in metafor:
            continue
        ours = results["trials"]["glmm"][group]
        for field in GLMM_FIELDS:
            assert ours[field] == pytest.approx(metafor[f"g{i}.{field}"], abs=TOL), (group, field)
        checked += 1
    assert checked >= 2  # all regimens and ICI + TKI at least
    ours = results["trials"]["apatinib"]["pooled"]
    for field in GLMM_FIELDS:
        assert ours[field] == pytest.approx(metafor[f"apatinib.{field}"], abs=TOL), field


@pytest.mark.r
def test_glmm_rows_of_the_method_table_are_the_glmm_fits(results):
    for row in results["trials"]["methods"]:
        if row["method"] == "binomial-normal GLMM (ML)":
            fit = results["trials"]["glmm"][row["group"]]
            assert row["proportion"] == pytest.approx(fit["proportion"], abs=1e-12)


@pytest.mark.r
def test_inverse_variance_rows_match_rma(results, metafor):
    labels = {"logit": "inverse variance, logit (+½ to zero cells), REML",
              "freeman-tukey": "inverse variance, Freeman–Tukey, REML"}
    rows = {(r["group"], r["method"]): r for r in results["trials"]["methods"]}
    for i, group in enumerate(results["trials"]["glmm_inputs"]):
        for transform, label in labels.items():
            ours = rows[(group, label)]
            for field in ("proportion", "proportion_ci_low", "proportion_ci_high"):
                assert ours[field] == pytest.approx(metafor[f"iv{i}{transform[0]}.{field}"], abs=TOL), (group, label)
            assert ours["heterogeneity"] == pytest.approx(metafor[f"iv{i}{transform[0]}.tau2"], abs=TOL)


@pytest.mark.r
def test_subgroup_tests_match_r(results):
    sub = results["trials"]["subgroup"]
    combo, alone = results["trials"]["glmm"]["ICI + TKI"], results["trials"]["glmm"]["ICI alone"]
    f = sub["fisher"]
    theirs = run_r(f"""
        emit_fit("q", rma(yi = c({combo['estimate']!r}, {alone['estimate']!r}),
                           sei = c({combo['se']!r}, {alone['se']!r}), method = "EE"))
        emit("fisher", list(p = fisher.test(matrix(c({f['events_1']}, {f['n_1'] - f['events_1']},
                                                     {f['events_2']}, {f['n_2'] - f['events_2']}), 2))$p.value))
    """)
    assert sub["glmm"]["q"] == pytest.approx(theirs["q.q"], abs=TOL)
    assert sub["glmm"]["p"] == pytest.approx(theirs["q.q_p"], abs=TOL)
    assert f["fisher_p"] == pytest.approx(theirs["fisher.p"], rel=1e-9)


@pytest.mark.r
def test_apatinib_fisher_tests_match_r(results):
    rows = results["trials"]["apatinib"]["arms"]
    script = "\n".join(
        f'emit("a{i}", list(p = fisher.test(matrix(c({r["events_1"]}, {r["n_1"] - r["events_1"]}, {r["events_2"]}, '
        f'{r["n_2"] - r["events_2"]}), 2))$p.value))' for i, r in enumerate(rows))
    theirs = run_r(script)
    for i, row in enumerate(rows):
        assert row["fisher_p"] == pytest.approx(theirs[f"a{i}.p"], rel=1e-9)


@pytest.mark.r
def test_beta_binomial_ml_matches_an_r_implementation(results):
    """Profile likelihood over rho in [0, 1), maximised over mu, CI where the drop reaches qchisq(0.95, 1)/2."""
    lines = ["""
        bb <- function(mu, rho, x, n) {
          if (rho <= 0) return(sum(dbinom(x, n, mu, log = TRUE)))
          k <- 1 / rho - 1
          sum(lchoose(n, x) + lbeta(x + mu * k, n - x + (1 - mu) * k) - lbeta(mu * k, (1 - mu) * k))
        }
        prof <- function(mu, x, n) max(bb(mu, 0, x, n),
          optimize(function(r) bb(mu, r, x, n), c(0, 0.999), maximum = TRUE, tol = 1e-12)$objective)
        fitbb <- function(label, x, n) {
          best <- optimize(function(m) prof(m, x, n), c(1e-6, 0.999), maximum = TRUE, tol = 1e-10)
          cut <- best$objective - qchisq(0.95, 1) / 2
          g <- function(m) prof(m, x, n) - cut
          emit(label, list(p = best$maximum, lo = uniroot(g, c(1e-9, best$maximum), tol = 1e-12)$root,
                           hi = uniroot(g, c(best$maximum, 1 - 1e-9), tol = 1e-12)$root))
        }"""]
    groups = [(i, g, d) for i, (g, d) in enumerate(results["trials"]["glmm_inputs"].items())
              if len(d["n"]) >= 2 and sum(d["events"]) > 0]
    lines += [f'fitbb("b{i}", {r_vector(d["events"])}, {r_vector(d["n"])})' for i, _, d in groups]
    theirs = run_r("\n".join(lines))
    rows = {(r["group"], r["method"]): r for r in results["trials"]["methods"]}
    for i, group, _ in groups:
        ours = rows[(group, "beta-binomial (ML, profile CI)")]
        assert ours["proportion"] == pytest.approx(theirs[f"b{i}.p"], abs=1e-4), group
        assert ours["proportion_ci_low"] == pytest.approx(theirs[f"b{i}.lo"], abs=1e-4), group
        assert ours["proportion_ci_high"] == pytest.approx(theirs[f"b{i}.hi"], abs=1e-4), group


def test_exact_rows_are_clopper_pearson(results):
    rows = {(r["group"], r["method"]): r for r in results["trials"]["methods"]}
    for group, data in results["trials"]["glmm_inputs"].items():
        x, n = sum(data["events"]), sum(data["n"])
        row = rows[(group, "exact, common rate")]
        assert (row["proportion_ci_low"], row["proportion_ci_high"]) == pytest.approx(clopper_pearson(x, n), abs=1e-10)
    for arm in results["trials"]["arms"]:
        assert (arm["ci_low"], arm["ci_high"]) == pytest.approx(clopper_pearson(arm["events"], arm["n"]), abs=1e-10)


@pytest.mark.r
def test_posterior_probabilities_match_pbeta(results):
    posts = results["trials"]["posteriors"]
    script = "\n".join(f'emit("p{i}", list(t5 = pbeta(0.05, {p["a"]!r}, {p["b"]!r}, lower.tail = FALSE), '
                       f't10 = pbeta(0.10, {p["a"]!r}, {p["b"]!r}, lower.tail = FALSE), '
                       f't20 = pbeta(0.20, {p["a"]!r}, {p["b"]!r}, lower.tail = FALSE), '
                       f'med = qbeta(0.5, {p["a"]!r}, {p["b"]!r})))' for i, p in enumerate(posts))
    theirs = run_r(script)
    priors = {"jeffreys": (0.5, 0.5), "uniform": (1.0, 1.0), "enthusiastic": (1.0, 4.0)}
    for i, p in enumerate(posts):
        a0, b0 = priors[p["prior"]]
        assert (p["a"], p["b"]) == (a0 + p["events"], b0 + p["n"] - p["events"])
        for key, t in (("t5", "0.05"), ("t10", "0.1"), ("t20", "0.2")):
            assert p[f"p_above_{t}"] == pytest.approx(theirs[f"p{i}.{key}"], abs=1e-12)
        assert p["median"] == pytest.approx(theirs[f"p{i}.med"], rel=1e-9)


def test_pooled_counts_are_the_curated_counts(results):
    """Every pooled arm is an osteosarcoma-specific ICI arm, with the response count of trial_outcomes.csv."""
    outcomes = trials.load_outcomes().set_index("outcome_id")
    arms = trials.load_arms().set_index("arm_id")
    for arm in results["trials"]["arms"]:
        assert arms.at[arm["arm_id"], "osteosarcoma_specific"]
        assert "ICI" in arms.at[arm["arm_id"], "drug_class"]
        row = outcomes.loc[arm["outcome_id"]]
        assert (row["events"], row["n"]) == (arm["events"], arm["n"])


# ---- tumours: shared helpers ----------------------------------------------------------------------

def curated_sets() -> dict[str, list[str]]:
    """Gene sets read with the csv module: data/ici_gene_sets.csv and Danaher's rows of caf_markers.csv."""
    sets: dict[str, list[str]] = {}
    with open(DATA / "ici_gene_sets.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["status"] != "unverified":
                sets.setdefault(row["set"], []).append(row["gene"])
    with open(DATA / "caf_markers.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["source"] == "danaher2017" and row["status"] != "unverified":
                sets.setdefault(row["set"], []).append(row["gene"])
    return sets


def caf_genes(source: str, name: str) -> list[str]:
    with open(DATA / "caf_markers.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] != "unverified" and r["set"] == name]
    own = [r["gene"] for r in rows if r["source"] == source]
    return list(dict.fromkeys(own + [r["gene"] for r in rows if r["source"] == "cafreview2025"]))


def mean_z(expression: pd.DataFrame, genes: list[str]) -> pd.Series:
    rows = expression.loc[genes]
    return ((rows.T - rows.mean(axis=1)) / rows.std(axis=1, ddof=1)).mean(axis=1)


def r_cox(path, features: list[str], time: str, status: str, adjust: str = "") -> str:
    """R lines fitting one Cox model per feature (standardised), emitting coef, se, p, n and the PH test."""
    vector = "c(" + ", ".join(f'"{f}"' for f in features) + ")"
    covariate = f" + {adjust}" if adjust else ""
    return f"""
        library(survival)
        d <- read.csv("{path}", check.names = FALSE)
        fs <- {vector}
        for (i in seq_along(fs)) {{
          e <- d[!is.na(d[[fs[i]]]), ]
          e$x <- as.numeric(scale(e[[fs[i]]]))
          m <- coxph(Surv({time}, {status}) ~ x{covariate}, data = e, ties = "efron")
          s <- summary(m)$coefficients
          emit(paste0("f", i), list(coef = s["x", "coef"], se = s["x", "se(coef)"], p = s["x", "Pr(>|z|)"],
                                    n = m$n))
        }}"""


def assert_cox(ours: dict, theirs: dict, key: str) -> None:
    """Coefficient, SE, p and n as coxph.

    The proportional-hazards p-values are not compared: lifelines computes the Grambsch–Therneau
    approximation that survival used before version 3.0, while current `cox.zph` computes a score test;
    on these data the two differ by up to about 0.16 (the chapter says its PH check is approximate).
    """
    assert ours["coef"] == pytest.approx(theirs[f"{key}.coef"], abs=1e-6), key
    assert ours["se"] == pytest.approx(theirs[f"{key}.se"], abs=1e-6), key
    assert ours["p"] == pytest.approx(theirs[f"{key}.p"], rel=1e-5), key
    assert ours["n"] == theirs[f"{key}.n"], key


# ---- ISG/OS2 -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def isg(results):
    expression = pd.read_csv(fetch("isg_os2/Norm_count_table.txt"), sep="\t", index_col=0).rename(index=ALIASES)
    metadata = pd.read_csv(fetch("isg_os2/metadata.txt"), sep="\t", index_col=0)
    metadata.columns = [c.strip() for c in metadata.columns]
    assert results["parameters"]["bulk_score"] == "mean_z"
    sets = curated_sets()
    data = metadata[["OS_months", "STATUS_OS", "EFS_months", "STATUS_EFS"]].join(expression.loc[CHECKPOINTS].T)
    for name, genes in results["isg"]["genes"].items():
        assert genes == [g for g in sets[name] if g in expression.index], name
        data[name] = mean_z(expression, genes)
    return data


def test_isg_scores_cover_the_published_sets(results):
    coverage = {row["set"]: row for row in results["isg"]["coverage"]}
    assert coverage["T-cell-inflamed GEP"]["measured"] == 16 and coverage["T-cell-inflamed GEP"]["genes"] == 18
    assert coverage["T-cell-inflamed GEP"]["missing"] == "HLA-DRB1, NKG7"


@pytest.mark.r
def test_every_isg_cox_model_matches_coxph(results, isg, tmp_path):
    path = tmp_path / "isg.csv"
    isg.to_csv(path)
    cox = results["isg"]["cox"]
    for endpoint in ("OS", "EFS"):
        rows = [r for r in cox if r["endpoint"] == endpoint]
        theirs = run_r(r_cox(path, [r["term"] for r in rows], f"{endpoint}_months", f"STATUS_{endpoint}"))
        for i, row in enumerate(rows, start=1):
            assert_cox(row, theirs, f"f{i}")
        assert [r["q"] for r in rows] == pytest.approx(list(bh(np.array([r["p"] for r in rows]))))


@pytest.mark.r
def test_cd274_median_split_matches_coxph(results, isg, tmp_path):
    path = tmp_path / "split.csv"
    isg.assign(high=(isg["CD274"] > isg["CD274"].median()).astype(int)).to_csv(path)
    theirs = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        for (e in c("OS", "EFS")) {{
          s <- summary(coxph(as.formula(paste0("Surv(", e, "_months, STATUS_", e, ") ~ high")), data = d))
          emit(e, list(coef = s$coefficients["high", "coef"], se = s$coefficients["high", "se(coef)"],
                       p = s$coefficients["high", "Pr(>|z|)"], n = s$n))
        }}""")
    for row in results["isg"]["cd274_split"]:
        assert_cox(row, theirs, row["endpoint"])


def test_histological_response_by_hand(results, isg):
    metadata = pd.read_csv(fetch("isg_os2/metadata.txt"), sep="\t", index_col=0)
    response = metadata.iloc[:, [c.strip() for c in metadata.columns].index("HistologicResponse")]
    for row in results["isg"]["response"]:
        good, poor = isg.loc[response == "GR", row["feature"]], isg.loc[response == "PR", row["feature"]]
        u = stats.mannwhitneyu(good, poor, alternative="two-sided")
        assert row["auc"] == pytest.approx(u.statistic / (len(good) * len(poor)), rel=1e-12)
        assert row["p_mannwhitney"] == pytest.approx(u.pvalue, rel=1e-9)


# ---- CIBERSORT -----------------------------------------------------------------------------------

@pytest.mark.r
def test_cibersort_cox_models_match_coxph(results, tmp_path):
    fractions = pd.read_csv(fetch("lqz_autophagy/CIBERSORT-Results.txt"), sep="\t", index_col=0)
    clinical = pd.read_csv(fetch("lqz_autophagy/clinical.txt"), sep="\t", index_col=0)
    data = fractions.join(clinical[["futime", "fustate"]], how="inner")
    assert len(data) == results["cibersort"]["n"] == 139
    data = data.loc[data["futime"] > 0].assign(cohort=lambda d: d.index.str.startswith("TARGET").astype(int))
    assert sorted(data.index) == sorted(results["cibersort"]["samples"])
    path = tmp_path / "cibersort.csv"
    data.to_csv(path)
    rows = results["cibersort"]["cox"]
    theirs = run_r(r_cox(path, [r["term"] for r in rows], "futime", "fustate", adjust="cohort"))
    for i, row in enumerate(rows, start=1):
        assert_cox(row, theirs, f"f{i}")


# ---- GSE21257 ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gse(results):
    """Expression read straight from the .RData; survival by the tested biopsy-to-GSM join of the datasets layer."""
    expression = pyreadr.read_r(fetch("gse21257_lionessr/OSdata.RData"))["exp"]
    _, table, _ = gse21257.join_survival()
    sets = curated_sets()
    data = table[["futime", "fustate"]].join(expression.loc[[g for g in CHECKPOINTS if g in expression.index]].T)
    for name, genes in results["gse21257"]["genes"].items():
        assert genes == [g for g in sets[name] if g in expression.index], name
        data[name] = mean_z(expression, genes)
    return expression, data


@pytest.mark.r
def test_every_gse21257_cox_model_matches_coxph(results, gse, tmp_path):
    _, data = gse
    path = tmp_path / "gse.csv"
    data.to_csv(path)
    rows = results["gse21257"]["cox"]
    assert {r["term"] for r in rows} >= {"CTLA4", "LAG3", "HAVCR2"}
    theirs = run_r(r_cox(path, [r["term"] for r in rows], "futime", "fustate"))
    for i, row in enumerate(rows, start=1):
        assert_cox(row, theirs, f"f{i}")


# ---- CAF link ------------------------------------------------------------------------------------

def test_caf_correlations_recomputed(results, isg, gse):
    expression_isg = pd.read_csv(fetch("isg_os2/Norm_count_table.txt"), sep="\t", index_col=0).rename(index=ALIASES)
    expression_gse, gse_data = gse
    source = results["parameters"]["marker_source"]
    features = {}
    for cohort, expression in (("ISG/OS2", expression_isg), ("GSE21257", expression_gse)):
        for name in ("iCAF", "myCAF"):
            genes = [g for g in caf_genes(source, name) if g in expression.index]
            if len(genes) >= 0.5 * len(caf_genes(source, name)):
                features[(cohort, f"{name} score")] = mean_z(expression, genes)
        for gene in ("CXCL12", "TGFB1"):
            if gene in expression.index:
                features[(cohort, gene)] = expression.loc[gene]
    immune = {"ISG/OS2": isg, "GSE21257": gse_data}
    rows = results["caf_link"]["pairs"]
    assert {(r["cohort"], r["feature"]) for r in rows} == set(features)
    for row in rows:
        x = features[(row["cohort"], row["feature"])]
        rho, p = stats.spearmanr(x, immune[row["cohort"]][row["immune score"]].reindex(x.index))
        assert row["rho"] == pytest.approx(rho, abs=1e-12) and row["p"] == pytest.approx(p, rel=1e-9)
        assert row["ci_low"] < row["rho"] < row["ci_high"]
    assert [r["q"] for r in rows] == pytest.approx(list(bh(np.array([r["p"] for r in rows]))))


def test_chapter_cites_every_pooled_trial(results):
    """Each pooled arm is cited by the bibkey of trial_arms.csv."""
    text = (NOTEBOOKS / "ici.md").read_text()
    cited = set(re.findall(r"[a-z_]+\d{4}[a-z]*", " ".join(re.findall(r"\{footcite:[pt]\}`([^`]+)`", text))))
    arms = trials.load_arms().set_index("arm_id")
    assert {arms.at[arm["arm_id"], "bibkey"] for arm in results["trials"]["arms"]} <= cited
