"""The certainty chapter's results file, checked against independent references.

- Every risk-of-bias judgment has a quote, or is `unknown` with a reason; every trial id exists in
  `trial_arms.csv`; every prospective TKI, mTOR or ICI trial is rated (the retrospective series is not).
- Each question's ratings are recomputed here from the numbers the results file itself records (its arms,
  effect, threshold, information size and the risk-of-bias table), by the rules as stated in
  `osteobook.stats.grade`, written out again in this file: the file cannot say one thing and mean another.
- The pooled effects are refitted with R's metafor: `rma(yi, vi, method = "REML")` for the TKI answers
  (estimate and CI back-transformed, τ², I²/100 to 5e-5, as in the TKI chapter's tests; the Riley prediction interval rebuilt from R's τ² and SE)
  and `rma.glmm(measure = "PLO")` for the checkpoint-inhibitor answer (to 1e-3, a quadrature fit); the
  mTOR arms' exact CIs with `binom.test`.
- Re-running the analysis with the file's parameters gives the same questions block and byte-identical
  summary-of-findings tables.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from osteobook.chapters import certainty
from osteobook.datasets import risk_of_bias as rob_data
from osteobook.datasets import trials
from osteobook.engine.results import _plain
from tests.conftest import chapter_results, check_glue_contract
from tests.r_reference import r_vector, run_r

pytestmark = pytest.mark.book
QUESTIONS = ["tki_response", "tki_landmark", "tki_hr", "mtor_pfs", "ici_response"]
I2_CUT, EGGER_K = 50.0, 10
START = {"randomised": 4, "single-arm": 2}
TOL = 5e-5  # REML and its back-transforms against metafor (the two optimisers stop at slightly different τ²)


@pytest.fixture(scope="module")
def results() -> dict:
    return chapter_results("certainty")


@pytest.fixture(scope="module")
def rob() -> pd.DataFrame:
    return rob_data.load_risk_of_bias()


def domain(results: dict, question: str, name: str) -> dict:
    return next(d for d in results["questions"][question]["rating"]["domains"] if d["name"] == name)


# ---- the risk-of-bias table -----------------------------------------------------------------------------

def test_every_judgment_has_a_quote_or_is_unknown_with_a_reason(rob):
    known = rob.loc[rob["judgment"] != "unknown"]
    assert (known["quote"].str.len() > 10).all(), known.loc[known["quote"].str.len() <= 10, ["trial_id", "domain"]]
    assert known["status"].isin(["verified", "secondary"]).all()
    unknown = rob.loc[rob["judgment"] == "unknown"]
    assert len(unknown) > 0
    assert (unknown["reason"].str.len() > 20).all()
    assert unknown["reason"].str.contains("unknown|not (?:reported|stated|seen|rated)|no information|silent",
                                          case=False).all(), unknown.loc[:, ["trial_id", "domain", "reason"]]
    assert (rob["source_url"].str.startswith("http")).all()


def test_trial_ids_exist_and_every_prospective_trial_is_rated_with_its_tool(rob):
    arms = trials.load_arms()
    assert set(rob["trial_id"]) <= set(arms["trial_id"])
    classes = arms.loc[(arms["design"] == "prospective trial") & arms["drug_class"].str.contains("TKI|mTOR|ICI")]
    assert set(classes["trial_id"]) <= set(rob["trial_id"])
    randomised = set(arms.loc[arms["randomised"], "trial_id"])
    tools = rob.drop_duplicates("trial_id").set_index("trial_id")["tool"]
    for trial, tool in tools.items():
        assert tool == ("RoB 2" if trial in randomised else "MINORS"), trial
    assert not set(arms.loc[arms["design"] == "retrospective series", "trial_id"]) & set(rob["trial_id"])


def test_the_results_count_the_table(results, rob):
    assert results["rob"]["rows"] == len(rob) == 191
    assert results["rob"]["unknown"] == int((rob["judgment"] == "unknown").sum())


# ---- the ratings, recomputed from the file's own inputs ----------------------------------------------------

def concern_by_hand(judgments: pd.Series, tool: str) -> bool:
    worst = "high" if tool == "RoB 2" else "0"
    bad = ((judgments == "unknown") | (judgments == worst)).sum()
    overall_high = tool == "RoB 2" and (judgments == "high").any()
    return bool(bad >= len(judgments) / 2 or overall_high)


@pytest.mark.parametrize("question", QUESTIONS)
def test_risk_of_bias_rating_follows_from_the_table_and_the_weights(results, rob, question):
    record = results["questions"][question]
    arms = pd.DataFrame(record["arms"])
    concern = []
    for arm in arms.itertuples():
        rows = rob.loc[rob["trial_id"] == arm.trial_id]
        concern.append(True if rows.empty else concern_by_hand(rows["judgment"], rows["tool"].iloc[0]))
    assert list(arms["concern"]) == concern
    share = arms.loc[concern, "weight"].sum() / arms["weight"].sum()
    expected = int(share > 0.5) if results["rob_rule"] == "weight-majority" else int(any(concern))
    assert domain(results, question, "risk of bias")["downgrade"] == expected


@pytest.mark.parametrize("question", QUESTIONS)
def test_inconsistency_rating_follows_from_i2_and_the_spread(results, question):
    record = results["questions"][question]
    effect, threshold = record["effect"], record["threshold"]
    rated = domain(results, question, "inconsistency")
    if effect["k"] < 2:
        assert rated["downgrade"] == 0 and rated["assessable"] is False
        return
    if effect["k"] >= 3 and effect["pi_low"] is not None:
        low, high = effect["pi_low"], effect["pi_high"]
    else:
        low, high = min(effect["estimates"]), max(effect["estimates"])
    assert rated["downgrade"] == int(effect["i2"] >= I2_CUT and low <= threshold <= high)


def ois_by_hand(record: dict, results: dict) -> int:
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    parameters = results["parameters"]
    if record["design"] == "randomised":
        return int(np.ceil(4 * z**2 / np.log(parameters["important_hr"]) ** 2))
    if "response" in record["outcome"].lower():
        p0 = parameters["response_threshold"]
        p1 = p0 + parameters["response_gain"]
    else:
        p0 = record["effect"]["benchmark"]
        p1 = p0 + parameters["important_gain"]
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    return int(np.ceil(((za * np.sqrt(p0 * (1 - p0)) + zb * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2))


@pytest.mark.parametrize("question", QUESTIONS)
def test_imprecision_rating_follows_from_the_ci_the_threshold_and_the_information_size(results, question):
    record = results["questions"][question]
    effect, threshold = record["effect"], record["threshold"]
    assert record["ois"] == ois_by_hand(record, results)
    n = sum(arm["n"] for arm in record["arms"])
    assert n == record["n"]
    expected = int(effect["ci_low"] <= threshold <= effect["ci_high"]) + int(n < record["ois"])
    assert domain(results, question, "imprecision")["downgrade"] == expected


@pytest.mark.parametrize("question", QUESTIONS)
def test_indirectness_publication_bias_and_the_level(results, question):
    record = results["questions"][question]
    rating = record["rating"]
    assert domain(results, question, "indirectness")["downgrade"] == int(len(record["indirectness"]) > 0)
    assert all(c["reason"] for c in record["indirectness"])
    k = len(record["yi"])
    publication = domain(results, question, "publication bias")
    assert k < EGGER_K and publication["downgrade"] == 0 and publication["assessable"] is False
    assert rating["start"] == START[record["design"]]
    total = sum(d["downgrade"] for d in rating["domains"])
    assert rating["level"] == max(1, rating["start"] - total)
    assert rating["symbols"] == "⊕" * rating["level"] + "◯" * (4 - rating["level"])


def test_every_downgrade_has_a_footnote_with_its_rule(results):
    for question in QUESTIONS:
        for d in results["questions"][question]["rating"]["domains"]:
            assert d["rule"] and d["footnote"]
            if d["downgrade"]:
                assert "rated down" in d["footnote"]


# ---- the pooled effects against R ---------------------------------------------------------------------------

@pytest.mark.r
@pytest.mark.parametrize("question", ["tki_response", "tki_landmark"])
def test_tki_pooled_effects_match_metafor(results, question):
    record = results["questions"][question]
    effect = record["effect"]
    assert effect["method"] == "REML"
    r = run_r(f"fit <- rma(yi = {r_vector(record['yi'])}, vi = {r_vector(record['vi'])}, method = 'REML')\n"
              "emit_fit('m', fit, ni = 1)\n")
    assert effect["estimate"] == pytest.approx(r["m.proportion"], abs=TOL)
    assert effect["ci_low"] == pytest.approx(r["m.proportion_ci_low"], abs=TOL)
    assert effect["ci_high"] == pytest.approx(r["m.proportion_ci_high"], abs=TOL)
    assert effect["tau2"] == pytest.approx(r["m.tau2"], abs=TOL)
    assert effect["i2"] / 100 == pytest.approx(r["m.i2"] / 100, abs=TOL)
    k = len(record["yi"])
    half = stats.t.ppf(0.975, k - 2) * np.sqrt(r["m.tau2"] + r["m.se"] ** 2)  # Riley et al. 2011
    expit = lambda x: 1 / (1 + np.exp(-x))
    assert effect["pi_low"] == pytest.approx(expit(r["m.estimate"] - half), abs=TOL)
    assert effect["pi_high"] == pytest.approx(expit(r["m.estimate"] + half), abs=TOL)


@pytest.mark.r
def test_ici_pooled_response_matches_metafor_glmm(results):
    record = results["questions"]["ici_response"]
    arms = pd.DataFrame(record["arms"])
    r = run_r(f"fit <- rma.glmm(measure = 'PLO', xi = {r_vector(arms['pooled_events'])}, "
              f"ni = {r_vector(arms['pooled_n'])})\n"
              "emit_fit('g', fit, ni = 1)\n")
    effect = record["effect"]
    assert effect["estimate"] == pytest.approx(r["g.proportion"], abs=1e-3)
    assert effect["ci_low"] == pytest.approx(r["g.proportion_ci_low"], abs=1e-3)
    assert effect["ci_high"] == pytest.approx(r["g.proportion_ci_high"], abs=1e-3)


@pytest.mark.r
def test_mtor_span_is_made_of_the_arms_exact_cis(results):
    record = results["questions"]["mtor_pfs"]
    arms = pd.DataFrame(record["arms"])
    script = "".join(f"b <- binom.test({int(x)}, {int(n)})$conf.int; emit('a{i}', list(lo = b[1], hi = b[2]))\n"
                     for i, (x, n) in enumerate(zip(arms["pooled_events"], arms["pooled_n"], strict=True)))
    r = run_r(script)
    lows = [r[f"a{i}.lo"] for i in range(len(arms))]
    highs = [r[f"a{i}.hi"] for i in range(len(arms))]
    if record["effect"]["method"] == "not pooled":
        assert record["effect"]["ci_low"] == pytest.approx(min(lows), abs=1e-6)
        assert record["effect"]["ci_high"] == pytest.approx(max(highs), abs=1e-6)


def test_the_hazard_ratio_is_the_curated_one(results):
    record = results["questions"]["tki_hr"]
    outcomes = trials.load_outcomes()
    rows = outcomes.loc[(outcomes["endpoint"] == "hr_pfs") & outcomes["arm_id"].isin(
        [a["arm_id"] for a in record["arms"]])]
    assert len(rows) == record["effect"]["k"] == 1
    row = rows.iloc[0]
    assert (record["effect"]["estimate"], record["effect"]["ci_low"], record["effect"]["ci_high"]) == (
        float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]))


# ---- determinism and the page ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rerun(results):
    parameters = dict(results["parameters"])
    return certainty.analyse(**parameters), certainty.analyse(**parameters)


def test_a_rerun_gives_the_same_questions_and_identical_tables(results, rerun):
    first, second = rerun
    fresh = json.loads(json.dumps(_plain(first.results["questions"]), sort_keys=True))
    assert fresh == results["questions"]
    for question in QUESTIONS:
        assert certainty.sof_table(question, first).to_html() == certainty.sof_table(question, second).to_html()
    assert certainty.grade_table(first).equals(certainty.grade_table(second))


def test_glue_contract(rerun):
    from osteobook.paths import NOTEBOOKS
    check_glue_contract((NOTEBOOKS / "certainty.md").read_text(), rerun[0].glue)
