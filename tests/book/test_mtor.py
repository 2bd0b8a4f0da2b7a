"""The mTOR chapter's results file, checked against independent references.

- The GSE21257 join and the mean z-scores are recomputed here from the raw registry files (own parsing,
  SciPy's Spearman matrix) and must agree exactly (1e-10).
- Every Cox model is refitted with R `survival::coxph` (Efron ties, its default): coefficients and
  standard errors to 1e-6, p-values and CI bounds to a relative 1e-5 (lifelines runs with tightened
  convergence; see `stats.survival`). The proportional-hazards check is a different test in R
  (`cox.zph` uses the score test), so only its decision at p < 0.05 is compared, where R's p-value is
  not within 0.01-0.10 of the threshold.
- Every logistic model is refitted with R `glm` (binomial, convergence tightened to 1e-14: at glm's default
  1e-8 the Wald CIs differ from a fully converged fit by ~5e-5): odds ratios and Wald CIs to a relative 1e-6.
- The rate differences are rebuilt from R's Wilson intervals (`prop.test`, no continuity correction)
  and the exact CIs from `binom.test`; a pooled estimate, if any, would be compared with metafor.
- The permutation p-values of GSE87437 are compared with the exact permutation distribution (all
  splits enumerated) within four Monte Carlo standard errors.
"""
from __future__ import annotations

import csv
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pyreadr
import pytest
from scipy import stats

from osteobook.datasets.registry import fetch
from osteobook.paths import DATA
from tests.conftest import chapter_results
from tests.r_reference import r_vector, run_r

pytestmark = pytest.mark.book
SCORES = ["MTORC1_SIGNALING", "PI3K_AKT_MTOR_SIGNALING", "core", "proliferation"]


@pytest.fixture(scope="module")
def results() -> dict:
    return chapter_results("mtor")


@pytest.fixture(scope="module")
def parameters(results) -> dict:
    p = results["parameters"]
    assert p["score_method"] == "mean_z", "the independent recomputation below is written for mean z-scores"
    return p


def hallmark_sets() -> dict[str, list[str]]:
    sets = {}
    for line in fetch("genesets/h.all.v7.5.1.symbols.gmt").read_text().splitlines():
        fields = line.split("\t")
        sets[fields[0].removeprefix("HALLMARK_")] = [g for g in fields[2:] if g]
    return sets


def core_genes() -> tuple[list[str], list[str]]:
    with open(DATA / "mtor_core_genes.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] != "unverified"]
    return ([r["gene"] for r in rows if r["role"] == "activator"],
            [r["gene"] for r in rows if r["role"] == "inhibitor"])


def mean_z(matrix: pd.DataFrame, genes: list[str]) -> pd.Series:
    rows = matrix.loc[[g for g in dict.fromkeys(genes) if g in matrix.index]]
    return rows.sub(rows.mean(axis=1), axis=0).div(rows.std(axis=1, ddof=1), axis=0).mean()


def scores_by_hand(matrix: pd.DataFrame, proliferation_set: str) -> pd.DataFrame:
    sets = hallmark_sets()
    up, down = core_genes()
    return pd.DataFrame({"MTORC1_SIGNALING": mean_z(matrix, sets["MTORC1_SIGNALING"]),
                         "PI3K_AKT_MTOR_SIGNALING": mean_z(matrix, sets["PI3K_AKT_MTOR_SIGNALING"]),
                         "core": mean_z(matrix, up) - mean_z(matrix, down),
                         "proliferation": mean_z(matrix, sets[proliferation_set])})


def stored(results, cohort: str, method: str = "mean_z") -> pd.DataFrame:
    return pd.DataFrame(results["tumours"]["scores"][cohort][method]).set_index("sample")


def bh(p) -> np.ndarray:
    p = np.asarray(p, float)
    order = np.argsort(p)
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.empty_like(p)
    q[order] = np.minimum(1, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


def rows_of(results, key: str, **match) -> list[dict]:
    return [r for r in results["tumours"][key] if all(r[k] == v for k, v in match.items())]


# ---- the GSE21257 join and the scores ------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_gse21257():
    objects = pyreadr.read_r(str(fetch("gse21257_lionessr/OSdata.RData")))
    merged = pd.read_csv(fetch("lqz_autophagy/merge.txt"), sep="\t", index_col=0)
    clinical = pd.read_csv(fetch("lqz_autophagy/clinical.txt"), sep="\t", index_col=0)
    return objects["exp"], objects["targets"], merged, clinical


def test_join_recomputed_and_one_to_one(results, raw_gse21257):
    expression, targets, merged, clinical = raw_gse21257
    gsm = [c for c in merged.columns if c.startswith("GSM")]
    shared = [g for g in expression.index if g in set(merged.index)]
    rho = stats.spearmanr(expression.loc[shared].to_numpy(), merged.loc[shared, gsm].to_numpy()).statistic
    cross = pd.DataFrame(rho[: expression.shape[1], expression.shape[1]:], index=expression.columns, columns=gsm)
    best = cross.idxmax(axis=1)
    join = pd.DataFrame(results["tumours"]["join"]).set_index("biopsy")
    assert len(join) == 53 and join["gsm"].is_unique and best.is_unique
    assert join["gsm"].to_dict() == best.to_dict()
    assert join["r_best"].to_numpy() == pytest.approx(cross.max(axis=1).reindex(join.index).to_numpy(), abs=1e-10)
    assert join["n_genes"].iloc[0] == len(shared)
    assert (join["futime"].to_numpy() == clinical.loc[join["gsm"], "futime"].to_numpy()).all()
    assert (join["fustate"].to_numpy() == clinical.loc[join["gsm"], "fustate"].to_numpy()).all()
    mets = targets.set_index("sample")["mets"].astype(str).eq("yes")
    assert (join["metastasis"] == mets.reindex(join.index)).all()


def test_gse21257_scores_recomputed(results, parameters, raw_gse21257):
    expression = raw_gse21257[0]
    ours = stored(results, "GSE21257")
    theirs = scores_by_hand(expression, parameters["proliferation_set"]).reindex(ours.index)
    for score in SCORES:
        assert ours[score].to_numpy() == pytest.approx(theirs[score].to_numpy(), abs=1e-10), score


def test_autophagy_scores_recomputed(results, parameters, raw_gse21257):
    merged, clinical = raw_gse21257[2], raw_gse21257[3]
    cohort = np.where(merged.columns.str.startswith("TARGET"), "TARGET", "GSE21257")
    within = pd.concat([merged.loc[:, cohort == c].pipe(lambda m: m.sub(m.mean(axis=1), axis=0)
                                                      .div(m.std(axis=1, ddof=1), axis=0))
                        for c in ["GSE21257", "TARGET"]], axis=1)
    ours = stored(results, "autophagy")
    theirs = scores_by_hand(within, parameters["proliferation_set"]).reindex(ours.index)
    for score in ["MTORC1_SIGNALING", "PI3K_AKT_MTOR_SIGNALING", "core"]:
        assert ours[score].to_numpy() == pytest.approx(theirs[score].to_numpy(), abs=1e-10), score
    assert (clinical.loc[ours.index, "futime"] > 0).all() and len(ours) == (clinical["futime"] > 0).sum()


# ---- survival and logistic models against R -------------------------------------------------------

def fit_cox_in_r(path, covariates: dict[str, list[str]], adjust: str = "") -> dict[str, float]:
    """coxph per SD of each covariate list (first covariate reported), optionally + `adjust` unscaled."""
    lines = ["library(survival)", f'd <- read.csv("{path}")']
    for label, terms in covariates.items():
        scaled = " + ".join(f"scale({t})" for t in terms) + (f" + {adjust}" if adjust else "")
        lines.append(f"""f <- coxph(Surv(futime, fustate) ~ {scaled}, data = d)
            s <- summary(f); z <- cox.zph(f, transform = "km")
            emit("{label}", list(coef = s$coefficients[1, "coef"], se = s$coefficients[1, "se(coef)"],
                 p = s$coefficients[1, "Pr(>|z|)"], low = s$conf.int[1, "lower .95"],
                 high = s$conf.int[1, "upper .95"], zph = z$table[1, "p"], n = s$n, events = s$nevent))""")
    return run_r("\n".join(lines))


def assert_cox(ours: dict, theirs: dict, label: str) -> None:
    assert np.log(ours["effect"]) == pytest.approx(theirs[f"{label}.coef"], abs=1e-6), label
    assert ours["p"] == pytest.approx(theirs[f"{label}.p"], rel=1e-5), label
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((theirs[f"{label}.low"], theirs[f"{label}.high"]),
                                                              rel=1e-5), label
    assert (ours["n"], ours["events"]) == (theirs[f"{label}.n"], theirs[f"{label}.events"]), label
    r_zph = theirs[f"{label}.zph"]
    if not 0.01 <= r_zph <= 0.10:
        assert (ours["ph_p"] < 0.05) == (r_zph < 0.05), f"{label}: PH decision differs (ours {ours['ph_p']}, R {r_zph})"


@pytest.mark.r
def test_gse21257_cox_models_match_r(results, tmp_path):
    data = stored(results, "GSE21257")
    path = tmp_path / "gse21257.csv"
    data.to_csv(path, index=False)
    models = {**{s: [s] for s in SCORES}, **{f"{s}_adj": [s, "proliferation"] for s in SCORES[:3]}}
    theirs = fit_cox_in_r(path, models)
    for score in SCORES:
        (ours,) = rows_of(results, "tests", cohort="GSE21257", outcome="overall survival", score=score)
        assert_cox(ours, theirs, score)
    for score in SCORES[:3]:
        (ours,) = rows_of(results, "adjusted", cohort="GSE21257", outcome="overall survival", score=score)
        assert_cox(ours, theirs, f"{score}_adj")


@pytest.mark.r
def test_cohort_adjusted_cox_models_match_r(results, tmp_path):
    data = stored(results, "autophagy")
    path = tmp_path / "autophagy.csv"
    data.to_csv(path, index=False)
    scores = ["MTORC1_SIGNALING", "PI3K_AKT_MTOR_SIGNALING", "core"]
    theirs = fit_cox_in_r(path, {s: [s] for s in scores}, adjust="target")
    for score in scores:
        (ours,) = rows_of(results, "tests", cohort="autophagy", score=score)
        assert_cox(ours, theirs, score)


@pytest.mark.r
def test_sensitivity_cox_models_match_r(results, tmp_path):
    """The rank-score models too (the sensitivity analysis), in GSE21257."""
    data = stored(results, "GSE21257", "rank")
    path = tmp_path / "rank.csv"
    data.to_csv(path, index=False)
    theirs = fit_cox_in_r(path, {s: [s] for s in SCORES[:3]})
    for score in SCORES[:3]:
        (ours,) = [r for r in results["tumours"]["sensitivity"]
                   if (r["cohort"], r["outcome"], r["score"]) == ("GSE21257", "overall survival", score)]
        assert_cox(ours, theirs, score)


@pytest.mark.r
def test_logistic_models_match_r_glm(results, tmp_path):
    data = stored(results, "GSE21257")
    path = tmp_path / "gse21257.csv"
    data.to_csv(path, index=False)
    lines = [f'd <- read.csv("{path}")']
    for score in SCORES:
        for label, formula in [(score, f"scale({score})"), (f"{score}_adj", f"scale({score}) + scale(proliferation)")]:
            if label == "proliferation_adj":
                continue
            lines.append(f"""g <- glm(metastasis ~ {formula}, family = binomial, data = d,
                              control = glm.control(epsilon = 1e-14, maxit = 100))
                emit("{label}", list(or = exp(coef(g)[[2]]), low = exp(confint.default(g)[2, 1]),
                     high = exp(confint.default(g)[2, 2]), p = summary(g)$coefficients[2, 4]))""")
    theirs = run_r("\n".join(lines))
    for score in SCORES:
        for key, label in [("tests", score), ("adjusted", f"{score}_adj")]:
            if label == "proliferation_adj":
                continue
            (ours,) = rows_of(results, key, cohort="GSE21257", outcome="metastasis within 5 years", score=score)
            assert ours["effect"] == pytest.approx(theirs[f"{label}.or"], rel=1e-6), label
            assert (ours["ci_low"], ours["ci_high"]) == pytest.approx(
                (theirs[f"{label}.low"], theirs[f"{label}.high"]), rel=1e-6), label
            assert ours["p"] == pytest.approx(theirs[f"{label}.p"], rel=1e-5), label


def test_bh_q_values_by_hand(results):
    for key in ("tests", "sensitivity"):
        family = [r for r in results["tumours"][key] if r["in_family"]]
        assert len(family) == 12
        assert [r["q"] for r in family] == pytest.approx(list(bh([r["p"] for r in family])), rel=1e-12)


# ---- GSE87437: exact permutation distribution -----------------------------------------------------

def test_permutation_p_values_against_the_exact_distribution(results, parameters):
    data = stored(results, "GSE87437")
    poor = (data["response"] == "POOR").to_numpy()
    n, k = len(data), int(poor.sum())
    splits = np.array(list(combinations(range(n), k)), dtype=np.int8)
    assert len(splits) == comb(n, k)
    members = np.zeros((len(splits), n), dtype=bool)
    members[np.arange(len(splits))[:, None], splits] = True
    for score in SCORES:
        values = data[score].to_numpy(float)
        sums = members @ values
        diffs = sums / k - (values.sum() - sums) / (n - k)
        observed = values[poor].mean() - values[~poor].mean()
        exact = np.mean(np.abs(diffs) >= abs(observed) - 1e-12)
        (ours,) = rows_of(results, "tests", cohort="GSE87437", score=score)
        se = np.sqrt(exact * (1 - exact) / parameters["n_permutations"])
        assert abs(ours["p"] - exact) <= 4 * se + 1 / parameters["n_permutations"], score
        a, b = values[poor], values[~poor]
        pooled = np.sqrt(((k - 1) * a.var(ddof=1) + (n - k - 1) * b.var(ddof=1)) / (n - 2))
        assert ours["effect"] == pytest.approx((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * n - 9)), rel=1e-12)


# ---- trials --------------------------------------------------------------------------------------

@pytest.mark.r
def test_rate_differences_match_wilson_intervals_from_r(results):
    trials = results["trials"]
    bench = trials["benchmark"]
    compared = trials["compared"]
    assert compared, "no arm was compared with the benchmark"
    lines = [f"""b <- prop.test({bench['events']}, {bench['n']}, correct = FALSE)$conf.int"""]
    for i, row in enumerate(compared):
        lines.append(f"""a <- prop.test({row['events']}, {row['n']}, correct = FALSE)$conf.int
            e <- binom.test({row['events']}, {row['n']})$conf.int
            p1 <- {row['events']} / {row['n']}; p2 <- {bench['events']} / {bench['n']}
            emit("arm{i}", list(low = p1 - p2 - sqrt((p1 - a[1])^2 + (b[2] - p2)^2),
                 high = p1 - p2 + sqrt((a[2] - p1)^2 + (p2 - b[1])^2), exact_low = e[1], exact_high = e[2]))""")
    theirs = run_r("\n".join(lines))
    for i, row in enumerate(compared):
        assert row["diff_low"] == pytest.approx(theirs[f"arm{i}.low"], abs=1e-10)
        assert row["diff_high"] == pytest.approx(theirs[f"arm{i}.high"], abs=1e-10)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((theirs[f"arm{i}.exact_low"],
                                                                 theirs[f"arm{i}.exact_high"]), abs=1e-8)


def test_landmark_inputs_by_hand(results):
    """Default rule 12-26 weeks: G15_PFS6 17/38 (26.1 weeks); MB_PFS4 44% of 35 -> round(15.4) = 15 (17.4 weeks)."""
    if results["parameters"]["landmark_rule"] != "12-26 weeks" or results["parameters"]["include_unverified"]:
        pytest.skip("hand values are for the default parameters")
    got = {r["arm_id"]: (r["events"], r["n"], r["landmark_weeks"], r["count_source"])
           for r in results["trials"]["compared"]}
    assert got == {"GRIGNANI2015_SORAFENIB_EVEROLIMUS": (17, 38, 26.1, "reported count"),
                   "MARTINBROTO2017_GEM_SIROLIMUS": (15, 35, 17.4, "estimate × n")}
    assert (results["trials"]["benchmark"]["events"], results["trials"]["benchmark"]["n"]) == (11, 96)


@pytest.mark.r
def test_no_pool_below_three_arms_or_the_pool_matches_metafor(results):
    trials = results["trials"]
    if trials["n_comparable"] < 3:
        assert trials["pooled"] is None
        return
    compared = trials["compared"]
    theirs = run_r(f'emit_fit("pool", rma(measure="PLO", xi={r_vector([r["events"] for r in compared])}, '
                   f'ni={r_vector([r["n"] for r in compared])}, method="REML"), '
                   f'{r_vector([r["n"] for r in compared])}, "PLO")')
    for field in ["estimate", "se", "tau2", "proportion", "proportion_ci_low", "proportion_ci_high"]:
        assert trials["pooled"][field] == pytest.approx(theirs[f"pool.{field}"], abs=5e-5), field


def test_retrospective_arm_is_listed_but_not_compared(results):
    arms = {a["arm_id"]: a for a in results["trials"]["arms"]}
    retro = [a for a, row in arms.items() if row["design"] != "prospective trial"]
    assert retro
    assert not set(retro) & {r["arm_id"] for r in results["trials"]["compared"]}


# ---- cell lines and miRTarBase -------------------------------------------------------------------

def test_gdsc_rapamycin_and_holm_by_hand(results):
    matrix = next(iter(pyreadr.read_r(str(fetch("lqz_autophagy/GDSC2_Res.rds"))).values()))
    ids = {f"COSMIC_{i}" for i in results["cell_lines"]["osteosarcoma_lines"]}
    assert len(ids) == 10
    rapamycin = matrix["Rapamycin_1084"].dropna()
    inside = rapamycin.index.isin(ids)
    ours = {r["drug"]: r for r in results["cell_lines"]["comparison"]}
    expected = stats.mannwhitneyu(rapamycin[inside], rapamycin[~inside], method="asymptotic")
    assert ours["Rapamycin_1084"]["p"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert ours["Rapamycin_1084"]["prob_group_higher"] == pytest.approx(
        expected.statistic / (inside.sum() * (~inside).sum()), rel=1e-12)
    p = np.array([r["p"] for r in results["cell_lines"]["comparison"]])
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    expected_holm = np.empty_like(p)
    expected_holm[order] = holm
    assert [r["p_holm"] for r in results["cell_lines"]["comparison"]] == pytest.approx(list(expected_holm))


def test_mir21_pik3r1_records_from_the_raw_file(results):
    table = pd.read_csv(fetch("mirtarbase/hsa_MTI.csv"), encoding="utf-8-sig", dtype=str)
    hits = table.loc[(table["miRNA"] == "hsa-miR-21-5p") & (table["Target Gene"] == "PIK3R1")]
    ours = results["mir21_pik3r1"]
    assert len(ours) == len(hits) > 0
    assert sorted(r["pmid"] for r in ours) == sorted(hits["References (PMID)"])
