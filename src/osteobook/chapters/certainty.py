"""Chapter "How sure can we be? Risk of bias and certainty of the evidence": RoB per trial, GRADE per question.

The five clinical questions of the book are answered here exactly as their chapters answer them: the arms
are selected and pooled by calling the TKI, mTOR and ICI chapters' own public functions with those chapters'
default parameters (`engine.params.load_chapter(...).defaults()`), so a change there reaches this page.
Each answer is then rated with `osteobook.stats.grade`, whose rules are stated in its docstring and on the
page; the thresholds the rules read are this chapter's parameters. `sof_table(question)` gives any chapter
its summary-of-findings table.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import risk_of_bias as rob_data
from ..datasets import trials
from ..engine.params import load_chapter, validate
from ..prose import Markdown, trial_name
from ..sources import linked_table, source_cell
from ..stats import benchmark as benchmark_tests
from ..stats import grade
from ..stats.meta_analysis import HartungKnappFallback, effect_sizes, pool_proportions
from . import ici, mtor, tki

QUESTIONS = {
    "tki_response": "TKI alone: objective response",
    "tki_landmark": "TKI alone: progression-free at about 4 months, against a historical benchmark",
    "tki_hr": "Regorafenib vs placebo: progression-free survival (hazard ratio)",
    "mtor_pfs": "mTOR-inhibitor combinations: progression-free at a landmark near 4 months, against a historical "
                "benchmark",
    "ici_response": "Checkpoint inhibitor alone: objective response",
}
CHAPTER_OF = {"tki_response": "tki", "tki_landmark": "tki", "tki_hr": "tki", "mtor_pfs": "mtor",
              "ici_response": "ici"}
RESPONSE_IS_SURROGATE = ("objective response is a surrogate: tumour shrinkage on imaging has not been shown to "
                         "predict longer survival in relapsed osteosarcoma")
PFS_IS_SURROGATE = ("progression-free survival is a surrogate for overall survival, which no trial here showed to be "
                    "longer")
HISTORICAL = ("the comparator is a historical benchmark (Lagmay 2016: patients of 1990s–2000s COG/CCG/POG trials of "
              "inactive drugs), not a concurrent randomised control; its endpoint is event-free survival at 4 months")
# Indirectness is stated per question as data, with a reason (grade.indirectness counts them).
INDIRECTNESS = {
    "tki_response": [{"kind": "surrogate endpoint", "reason": RESPONSE_IS_SURROGATE}],
    "tki_landmark": [{"kind": "comparator", "reason": HISTORICAL},
                     {"kind": "surrogate endpoint", "reason": PFS_IS_SURROGATE}],
    "tki_hr": [{"kind": "surrogate endpoint", "reason": PFS_IS_SURROGATE}],
    "mtor_pfs": [{"kind": "comparator", "reason": HISTORICAL},
                 {"kind": "surrogate endpoint", "reason": PFS_IS_SURROGATE},
                 {"kind": "intervention", "reason": "each arm combines the mTOR inhibitor with a different partner "
                  "drug (sorafenib, gemcitabine), so the arms do not isolate the mTOR inhibitor"}],
    "ici_response": [{"kind": "surrogate endpoint", "reason": RESPONSE_IS_SURROGATE}],
}
HR_CONTRAST = "regorafenib vs placebo"
PERCENT = "{:.1%}"
RATIO = "{:.2f}"


@dataclass(frozen=True)
class Answer:
    """One question's pooled answer: its arms (with RoB weights), effect, threshold and information size."""

    question: str
    outcome: str
    design: str
    arms: pd.DataFrame  # arm_id, trial_id, label, n, weight (percent)
    effect: dict[str, Any]  # estimate, ci_low, ci_high, pi_low, pi_high, i2, tau2, k, estimates, text
    threshold: float
    threshold_text: str
    ois: int
    ois_unit: str
    yi: list[float]
    vi: list[float]
    scale: str
    notes: list[str]


# ---- the answers, by the chapters' own selection -------------------------------------------------------

def _defaults(chapter: str) -> dict[str, Any]:
    return load_chapter(chapter).defaults()


def _tki_evidence(include_unverified: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    spec = _defaults("tki")
    evidence = tki.select_sources(trials.evidence(include_unverified=include_unverified), spec["sources"])
    return evidence, spec


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    return {"transform": spec["transform"], "method": spec["tau2_method"], "knha": spec["hartung_knapp"],
            "pi_type": spec["prediction_interval"]}


def _proportion_effect(fit: dict[str, Any], table: pd.DataFrame) -> dict[str, Any]:
    return {"estimate": float(fit["proportion"]), "ci_low": float(fit["proportion_ci_low"]),
            "ci_high": float(fit["proportion_ci_high"]), "pi_low": _finite(fit.get("proportion_pi_low")),
            "pi_high": _finite(fit.get("proportion_pi_high")), "i2": float(fit["i2"]), "tau2": float(fit["tau2"]),
            "k": int(fit["k"]), "method": str(fit["method"]),
            "estimates": [float(v) for v in table["events"].astype(float) / table["n"].astype(float)]}


def _finite(value) -> float:
    return float(value) if value is not None and np.isfinite(value) else float("nan")


def _arms(table: pd.DataFrame, weight: pd.Series, n_column: str = "n") -> pd.DataFrame:
    """The arms of an answer: patients (as reported), the events and n that were pooled, RoB weight (%)."""
    pooled = "events" in table.columns
    return pd.DataFrame({"arm_id": table["arm_id"].to_numpy(), "trial_id": table["trial_id"].to_numpy(),
                         "label": table["trial_label"].map(trial_name).to_numpy(),
                         "n": table[n_column].astype(float).round().astype(int).to_numpy(),
                         "pooled_events": table["events"].astype(float).to_numpy() if pooled else np.nan,
                         "pooled_n": table["n"].astype(float).to_numpy() if pooled else np.nan,
                         "weight": np.asarray(weight, dtype=float)})


def tki_response(include_unverified: bool, response_threshold: float, response_gain: float) -> Answer:
    """Pooled objective response of the TKI-alone arms, as the TKI chapter pools them."""
    evidence, spec = _tki_evidence(include_unverified)
    table = tki.response_table(evidence)
    table = table.loc[table["regimen"] == "TKI alone"].reset_index(drop=True)
    fit = pool_proportions(table["events"], table["n"], **_options(spec))
    weighted = tki.add_weights(table, spec["transform"], fit["tau2"])
    yi, vi = effect_sizes(table["events"], table["n"], "logit")
    return Answer("tki_response", "Objective response (best response, RECIST)", "single-arm",
                  _arms(table, weighted["weight"], "reported_n"), _proportion_effect(fit, table), response_threshold,
                  f"a response rate of {response_threshold:.0%} (the rate a regimen must exceed to count as active)",
                  grade.ois_proportion(response_threshold, response_threshold + response_gain),
                  f"patients (to tell {response_threshold:.0%} from {response_threshold + response_gain:.0%})",
                  list(yi), list(vi), PERCENT, [])


def tki_landmark(include_unverified: bool, important_gain: float) -> Answer:
    """Pooled landmark PFS of the TKI-alone arms under the TKI chapter's landmark rule, against its benchmark."""
    evidence, spec = _tki_evidence(include_unverified)
    bench = trials.load_benchmarks().set_index("benchmark_id").loc[spec["benchmark"]]
    table = tki.landmark_table(evidence, spec["landmark_rule"], spec["landmark_estimator"], spec["landmark_variance"])
    table = table.loc[table["regimen"] == "TKI alone"].reset_index(drop=True)
    fit = pool_proportions(table["events"], table["n"], **_options(spec))
    versus = benchmark_tests.pooled_versus(fit, bench, spec["transform"], spec["benchmark_representation"])
    weighted = tki.add_weights(table, spec["transform"], fit["tau2"])
    yi, vi = effect_sizes(table["events"], table["n"], "logit")
    threshold = float(bench["estimate"]) + important_gain
    effect = {**_proportion_effect(fit, table), "benchmark": float(bench["estimate"]),
              "benchmark_low": float(bench["ci_low"]), "benchmark_high": float(bench["ci_high"]),
              "difference": float(versus["difference"]), "p_vs_benchmark": float(versus["p"])}
    return Answer("tki_landmark", f"Progression-free at about 4 months (landmarks {spec['landmark_rule']})",
                  "single-arm", _arms(table, weighted["weight"], "reported_n"), effect, threshold,
                  f"the benchmark {bench['estimate']:.0%} plus a clinically important gain of {important_gain:.0%}",
                  grade.ois_proportion(float(bench["estimate"]), threshold),
                  f"patients (to tell {bench['estimate']:.0%} from {threshold:.0%})", list(yi), list(vi), PERCENT, [])


def tki_hr(include_unverified: bool, hr_threshold: float, important_hr: float) -> Answer:
    """The PFS hazard ratio of regorafenib vs placebo: pooled where two trials report one, else the one trial."""
    evidence, _ = _tki_evidence(include_unverified)
    hrs = tki.hazard_ratios(evidence, tki.ALPHA)
    rows = hrs.loc[(hrs["endpoint"] == "hr_pfs") & (hrs["contrast"] == HR_CONTRAST) & hrs["has_ci"]]
    rows = rows.reset_index(drop=True)
    pooled = tki.pool_hazard_ratios(hrs).get(f"hr_pfs: {HR_CONTRAST}")
    contrast_trials = _placebo_trials(evidence)
    arms_n = trials.load_arms().groupby("trial_id")["n_enrolled"].sum()
    if pooled is None:
        row = rows.iloc[0]
        se = float(np.log(row["ci_high"] / row["ci_low"]) / (2 * 1.959963984540054))
        fit = {"hr": float(row["estimate"]), "hr_ci_low": float(row["ci_low"]), "hr_ci_high": float(row["ci_high"]),
               "i2": float("nan"), "tau2": float("nan"), "k": 1, "method": "single trial", "se": se}
    else:
        fit = {**pooled, "k": int(pooled["k"]), "method": "common effect"}
    n = rows["trial_id"].map(arms_n).astype(float)
    missing = [trial_name(_label(evidence, t)) for t in contrast_trials if t not in set(rows["trial_id"])]
    notes = [(f"{', '.join(missing)} randomised regorafenib against placebo but report{'s' if len(missing) == 1 else ''} "
             "no PFS hazard ratio with a CI (a non-comparative design), so the estimate rests on "
             f"{len(rows)} trial{'s' if len(rows) != 1 else ''}")] if missing else []
    table = pd.DataFrame({"arm_id": rows["arm_id"], "trial_id": rows["trial_id"], "trial_label": rows["trial_label"],
                          "n": n})
    log_se = np.log(rows["ci_high"].astype(float) / rows["ci_low"].astype(float)) / (2 * 1.959963984540054)
    effect = {"estimate": fit["hr"], "ci_low": fit["hr_ci_low"], "ci_high": fit["hr_ci_high"], "pi_low": float("nan"),
              "pi_high": float("nan"), "i2": _finite(fit.get("i2")), "tau2": _finite(fit.get("tau2")), "k": fit["k"],
              "method": fit["method"], "estimates": [float(v) for v in rows["estimate"]]}
    return Answer("tki_hr", "Progression-free survival (hazard ratio; < 1 favours regorafenib)", "randomised",
                  _arms(table, 100 * n / n.sum()), effect, hr_threshold,
                  f"a hazard ratio of {hr_threshold:.2f}" + (" (no effect)" if hr_threshold == 1 else ""),
                  grade.ois_hazard_ratio(important_hr), f"events (to detect a hazard ratio of {important_hr:.2f})",
                  list(np.log(rows["estimate"].astype(float))), list(log_se**2), RATIO, notes)


def _placebo_trials(evidence: pd.DataFrame) -> list[str]:
    """Trials that randomise a TKI against a placebo arm."""
    arms = trials.load_arms().set_index("arm_id")
    tki_rows = tki.tki_arms(evidence).drop_duplicates("arm_id")
    out = []
    for row in tki_rows.itertuples():
        comparator = row.comparator_arm_id if isinstance(row.comparator_arm_id, str) else ""
        if comparator in arms.index and "placebo" in arms.at[comparator, "arm_label"].lower():
            out.append(row.trial_id)
    return sorted(set(out))


def _label(evidence: pd.DataFrame, trial_id: str) -> str:
    return evidence.loc[evidence["trial_id"] == trial_id, "trial_label"].iloc[0]


def mtor_pfs(include_unverified: bool, important_gain: float) -> Answer:
    """The mTOR chapter's landmark arms against its benchmark (pooled only with ≥ mtor.MIN_POOL arms)."""
    spec = _defaults("mtor")
    result = mtor.analyse_trials(spec["landmark_rule"], spec["benchmark"], important_gain, include_unverified)
    table = result.landmarks.reset_index(drop=True)
    bench = result.benchmark
    arms_meta = trials.load_arms().set_index("arm_id")
    table = table.assign(trial_id=table["arm_id"].map(arms_meta["trial_id"]),
                         trial_label=table["arm_id"].map(arms_meta["trial_label"]))
    fit = pool_proportions(table["events"], table["n"])  # heterogeneity only, unless the chapter pools
    yi, vi = effect_sizes(table["events"], table["n"], "logit")
    threshold = float(bench["estimate"]) + important_gain
    effect = _proportion_effect(fit, table)
    pooled = result.pooled is not None
    if not pooled:  # the chapter shows no pooled number: the interval read is the arms' combined span
        effect.update(estimate=float("nan"), ci_low=float(table["ci_low"].min()), ci_high=float(table["ci_high"].max()),
                      pi_low=float("nan"), pi_high=float("nan"), method="not pooled")
    effect.update(benchmark=float(bench["estimate"]), pooled=pooled,
                  arm_texts=[f"{r.trial} {r.proportion:.0%} ({r.ci_low:.0%}–{r.ci_high:.0%})" for r in table.itertuples()])
    notes = [] if pooled else [(f"not pooled: {len(table)} arms, fewer than the {mtor.MIN_POOL} the mTOR chapter needs; "
                               "imprecision reads the span from the lowest lower to the highest upper arm CI limit")]
    return Answer("mtor_pfs", f"Progression-free at a landmark of {spec['landmark_rule']}",
                  "single-arm", _arms(table, 100 * table["n"] / table["n"].sum()), effect, threshold,
                  f"the benchmark {bench['estimate']:.0%} plus a clinically important gain of {important_gain:.0%}",
                  grade.ois_proportion(float(bench["estimate"]), threshold),
                  f"patients (to tell {bench['estimate']:.0%} from {threshold:.0%})", list(yi), list(vi), PERCENT,
                  notes)


def ici_response(include_unverified: bool, response_threshold: float, response_gain: float) -> Answer:
    """Objective response of the ICI-alone arms, pooled as the ICI chapter pools them (binomial-normal GLMM)."""
    spec = _defaults("ici")
    result = ici.trial_responses(include_unverified, spec["paediatric_rows"], spec["prior"], spec["alpha"])
    table = ici.group_rows(result.arms, "ICI alone").reset_index(drop=True)
    fit = pool_proportions(table["events"], table["n"], "logit", "GLMM")
    yi, vi = effect_sizes(table["events"], table["n"], "logit")
    return Answer("ici_response", "Objective response (best response, RECIST)", "single-arm",
                  _arms(table, 100 * table["n"] / table["n"].sum()), _proportion_effect(fit, table),
                  response_threshold,
                  f"a response rate of {response_threshold:.0%} (the rate a regimen must exceed to count as active)",
                  grade.ois_proportion(response_threshold, response_threshold + response_gain),
                  f"patients (to tell {response_threshold:.0%} from {response_threshold + response_gain:.0%})",
                  list(yi), list(vi), PERCENT, [])


# ---- rating -------------------------------------------------------------------------------------------

def arm_concerns(arms: pd.DataFrame, rob: pd.DataFrame) -> pd.DataFrame:
    """Each arm with its trial's risk-of-bias concern (`grade.arm_concern`)."""
    rows = []
    for arm in arms.itertuples():
        judgments = rob.loc[rob["trial_id"] == arm.trial_id]
        tool = judgments["tool"].iloc[0] if len(judgments) else None
        rows.append({**arm._asdict(), **grade.arm_concern(judgments["judgment"], tool)})
    return pd.DataFrame(rows).drop(columns="Index")


def rate_answer(answer: Answer, rob: pd.DataFrame, rob_rule: str) -> tuple[grade.Certainty, pd.DataFrame]:
    """The GRADE rating of one answer, and its arms with their risk-of-bias concern."""
    concerns = arm_concerns(answer.arms, rob)
    effect = answer.effect
    spread_scale = answer.scale
    domains = [
        grade.risk_of_bias(concerns, rob_rule),
        grade.inconsistency(effect["k"], effect["i2"], effect["pi_low"], effect["pi_high"], effect["estimates"],
                            answer.threshold, spread_scale),
        grade.indirectness(INDIRECTNESS[answer.question]),
        grade.imprecision(effect["ci_low"], effect["ci_high"], answer.threshold, answer.arms["n"].sum(), answer.ois,
                          answer.ois_unit, spread_scale),
        grade.publication_bias(answer.yi, answer.vi),
    ]
    return grade.rate(answer.design, domains), concerns


@dataclass(frozen=True)
class CertaintyAnalysis:
    rob: pd.DataFrame
    answers: dict[str, Answer]
    ratings: dict[str, grade.Certainty]
    concerns: dict[str, pd.DataFrame]
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(*, seed: int, include_unverified: bool, rob_rule: str, response_threshold: float, response_gain: float,
            important_gain: float, hr_threshold: float, important_hr: float) -> CertaintyAnalysis:
    """Risk of bias of every rated trial and the GRADE certainty of each of the book's five questions."""
    validate("certainty", locals())
    rob = rob_data.load_risk_of_bias()
    answers = _answers(list(QUESTIONS), include_unverified, response_threshold, response_gain, important_gain,
                       hr_threshold, important_hr)
    rated = {q: rate_answer(a, rob, rob_rule) for q, a in answers.items()}
    ratings = {q: r[0] for q, r in rated.items()}
    concerns = {q: r[1] for q, r in rated.items()}
    partial = CertaintyAnalysis(rob, answers, ratings, {}, {}, {})
    glue = {**_glue(rob, answers, ratings, rob_rule),
            **{f"{q}_footnotes": sof_footnotes(q, partial) for q in QUESTIONS},
            "response_threshold_pc": f"{response_threshold:.0%}", "important_gain_pc": f"{important_gain:.0%}",
            "hr_threshold_text": f"{hr_threshold:.2f}" + (" (no effect)" if hr_threshold == 1 else "")}
    results = {
        "rob": {"rows": len(rob), "trials": int(rob["trial_id"].nunique()),
                "unknown": int((rob["judgment"] == rob_data.UNKNOWN).sum()),
                "by_tool": rob.groupby("tool")["trial_id"].nunique().to_dict()},
        "rob_rule": rob_rule, "seed": seed,
        "questions": {q: {"title": QUESTIONS[q], "outcome": a.outcome, "design": a.design,
                          "threshold": a.threshold, "ois": a.ois, "n": int(a.arms["n"].sum()),
                          "arms": concerns[q][["arm_id", "trial_id", "n", "pooled_events", "pooled_n", "weight",
                                               "tool", "domains",
                                               "unknown_or_worst", "overall", "concern"]].to_dict(orient="records"),
                          "effect": {k: v for k, v in a.effect.items() if k != "arm_texts"},
                          "yi": a.yi, "vi": a.vi, "indirectness": INDIRECTNESS[q],
                          "rating": ratings[q].as_dict()}
                      for q, a in answers.items()},
    }
    return CertaintyAnalysis(rob, answers, ratings, concerns, glue, results)


def _answers(questions: list[str], include_unverified: bool, response_threshold: float, response_gain: float,
             important_gain: float, hr_threshold: float, important_hr: float) -> dict[str, Answer]:
    """The answers to `questions`, each from its own chapter's functions."""
    make = {
        "tki_response": lambda: tki_response(include_unverified, response_threshold, response_gain),
        "tki_landmark": lambda: tki_landmark(include_unverified, important_gain),
        "tki_hr": lambda: tki_hr(include_unverified, hr_threshold, important_hr),
        "mtor_pfs": lambda: mtor_pfs(include_unverified, important_gain),
        "ici_response": lambda: ici_response(include_unverified, response_threshold, response_gain),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HartungKnappFallback)
        return {question: make[question]() for question in questions}


def _glue(rob: pd.DataFrame, answers: dict[str, Answer], ratings: dict[str, grade.Certainty],
          rob_rule: str) -> dict[str, Any]:
    known = rob.loc[rob["judgment"] != rob_data.UNKNOWN]
    glue: dict[str, Any] = {
        "rob_rows": len(rob), "rob_trials": int(rob["trial_id"].nunique()),
        "rob2_trials": int(rob.loc[rob["tool"] == "RoB 2", "trial_id"].nunique()),
        "minors_trials": int(rob.loc[rob["tool"] == "MINORS", "trial_id"].nunique()),
        "rob_unknown": int((rob["judgment"] == rob_data.UNKNOWN).sum()), "rob_quoted": len(known),
        "minors_rows": int((rob["tool"] == "MINORS").sum()),
        "rob_secondary": int((known["status"] == "secondary").sum()),
        "rob_rule_label": grade.ROB_RULES[rob_rule],
        "i2_serious": grade.I2_SERIOUS, "egger_min_k": grade.EGGER_MIN_K,
    }
    for q, rating in ratings.items():
        glue[f"{q}_certainty"] = rating.label
        glue[f"{q}_symbols"] = rating.symbols
        glue[f"{q}_effect"] = effect_text(answers[q])
    levels = [r.level for r in ratings.values()]
    glue["certainty_summary"] = Markdown(_summary(answers, ratings))
    glue["n_very_low"] = sum(1 for v in levels if v == 1)
    glue["n_questions"] = len(ratings)
    return glue


def _summary(answers: dict[str, Answer], ratings: dict[str, grade.Certainty]) -> str:
    """'TKI alone: objective response: low (⊕⊕◯◯), rated down for ...' for each question, generated."""
    parts = []
    for q, rating in ratings.items():
        down = [f"{d.name} ({d.downgrade})" for d in rating.domains if d.downgrade]
        reason = f"rated down for {', '.join(down)}" if down else "not rated down"
        parts.append(f"**{QUESTIONS[q]}**: {rating.label} {rating.symbols}, starting at "
                     f"{grade.LEVELS[rating.start]} ({rating.design}); {reason}.")
    return " ".join(parts)


def effect_text(answer: Answer) -> str:
    """'12.7% (95% CI 6.4% to 23.4%)', 'HR 0.42 (95% CI 0.21 to 0.85)', or the arms when not pooled."""
    e = answer.effect
    if answer.question == "tki_hr":
        return f"HR {e['estimate']:.2f} (95% CI {e['ci_low']:.2f} to {e['ci_high']:.2f})"
    if e.get("method") == "not pooled":
        return "not pooled: " + "; ".join(e["arm_texts"])
    text = f"{e['estimate']:.1%} (95% CI {e['ci_low']:.1%} to {e['ci_high']:.1%})"
    if "benchmark" in e:
        text += f" vs benchmark {e['benchmark']:.0%}"
    return text


# ---- reader tables -------------------------------------------------------------------------------------

FOOTNOTE_MARKS = "abcdefghijklmnopqrstuvwxyz"


def sof_rows(question: str, result: CertaintyAnalysis) -> tuple[pd.DataFrame, list[str]]:
    """One summary-of-findings row in the GRADE layout and its footnotes (one per downgrade, then notes)."""
    answer, rating = result.answers[question], result.ratings[question]
    notes, marks = [], []
    for domain in rating.domains:
        if domain.downgrade:
            mark = FOOTNOTE_MARKS[len(notes)]
            notes.append(f"{mark}. {domain.name.capitalize()} (−{domain.downgrade}): {domain.footnote} Rule: "
                         f"{domain.rule}.")
            marks.append(mark)
    for domain in rating.domains:
        if not domain.downgrade and not domain.assessable:
            notes.append(f"{FOOTNOTE_MARKS[len(notes)]}. {domain.name.capitalize()}: {domain.footnote}")
    for note in answer.notes:
        notes.append(f"{FOOTNOTE_MARKS[len(notes)]}. {note[0].upper()}{note[1:]}.")
    k = len(answer.arms)
    row = pd.DataFrame([{
        "Outcome": answer.outcome,
        "Arms (patients)": f"{k} {_unit(answer, k)} ({int(answer.arms['n'].sum())})",
        "Design": {"randomised": "randomised", "single-arm": "single-arm"}[answer.design],
        "Effect (95% CI)": effect_text(answer),
        "Decision threshold": answer.threshold_text,
        "Certainty": f"{rating.symbols} {rating.label}" + (f" ({','.join(marks)})" if marks else ""),
    }])
    return row, notes


def _unit(answer: Answer, k: int) -> str:
    unit = "trial" if answer.design == "randomised" else "arm"
    return unit if k == 1 else f"{unit}s"


def sof_table(question: str, result: CertaintyAnalysis | None = None) -> pd.io.formats.style.Styler:
    """The summary-of-findings table of one question, for any chapter (`result`: this chapter's analysis,
    recomputed with the default parameters when not given). Its footnotes are `sof_footnotes(question)`."""
    if question not in QUESTIONS:
        raise KeyError(f"unknown question {question!r}; questions: {list(QUESTIONS)}")
    row, _ = sof_rows(question, result or default_answer(question))
    return (row.style.set_uuid(f"sof_{question}").hide(axis="index")
            .set_table_attributes('class="evidence-table sof-table"').format(escape="html"))


def sof_footnotes(question: str, result: CertaintyAnalysis | None = None) -> Markdown:
    """The footnotes of `sof_table(question)`, one list item each (shown under the table)."""
    return Markdown("\n".join(f"- {note}" for note in sof_rows(question, result or default_answer(question))[1]))


def questions_of(chapter: str) -> list[str]:
    """The questions whose answers come from `chapter` (in the order of `QUESTIONS`)."""
    return [question for question in QUESTIONS if CHAPTER_OF[question] == chapter]


def sof_glue(chapter: str) -> dict[str, Markdown]:
    """The footnotes of `chapter`'s summary-of-findings tables, as glue values `sof_footnotes_<question>`."""
    return {f"sof_footnotes_{question}": sof_footnotes(question) for question in questions_of(chapter)}


@cache
def default_answer(question: str) -> CertaintyAnalysis:
    """One question rated with this chapter's default parameters (what other chapters' summary-of-findings
    tables show), computing only that question's answer."""
    p = load_chapter("certainty").defaults()
    rob = rob_data.load_risk_of_bias()
    answers = _answers([question], p["include_unverified"], p["response_threshold"], p["response_gain"],
                       p["important_gain"], p["hr_threshold"], p["important_hr"])
    rating, concerns = rate_answer(answers[question], rob, p["rob_rule"])
    return CertaintyAnalysis(rob, answers, {question: rating}, {question: concerns}, {}, {})


def grade_table(result: CertaintyAnalysis) -> pd.DataFrame:
    """All five questions, one row each: start, each domain's downgrade, certainty (the evidence profile)."""
    rows = []
    for q, rating in result.ratings.items():
        row = {"Question": QUESTIONS[q], "Start": grade.LEVELS[rating.start]}
        for domain in rating.domains:
            row[domain.name.capitalize()] = ("−" + str(domain.downgrade)) if domain.downgrade else (
                "0" if domain.assessable else "n/a")
        row["Certainty"] = f"{rating.symbols} {rating.label}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("Question")


ROB_DISPLAY = {"2": "2 (adequate)", "1": "1 (inadequate)", "0": "0 (not reported)"}


def rob_table(result: CertaintyAnalysis, tool: str) -> pd.io.formats.style.Styler:
    """Every row of one tool: trial, domain, judgment, reason and the source with its quote."""
    rows = result.rob.loc[result.rob["tool"] == tool]
    table = pd.DataFrame({
        "Trial": rows["trial_id"].map(_trial_labels()).fillna(rows["trial_id"]),
        "Domain": rows["domain"].str.replace("MINORS ", "", regex=False),
        "Judgment": rows["judgment"].map(lambda j: ROB_DISPLAY.get(j, j)),
        "Reason": rows["reason"],
        "Source and quote": [source_cell(r) for _, r in rows.iterrows()],  # for "unknown": the text that was read
    })
    return linked_table(table, ["Source and quote"], sortable=True).set_uuid(f"rob_{tool.replace(' ', '')}")


def _trial_labels() -> pd.Series:
    arms = trials.load_arms().drop_duplicates("trial_id").set_index("trial_id")
    return arms["trial_label"].map(trial_name)


def rob_matrix(result: CertaintyAnalysis, tool: str) -> pd.DataFrame:
    """Trials × domains of judgments, for the traffic-light figure (rows in the table's order)."""
    rows = result.rob.loc[result.rob["tool"] == tool]
    matrix = rows.pivot(index="trial_id", columns="domain", values="judgment")
    matrix = matrix[[d for d in rob_data.DOMAINS[tool] if d in matrix.columns]]
    matrix.index = matrix.index.map(lambda t: _trial_labels().get(t, t))
    return matrix.sort_index()
