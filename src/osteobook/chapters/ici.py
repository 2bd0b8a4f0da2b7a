"""Chapter "Immune checkpoint inhibitors in osteosarcoma": response in trials, checkpoint and T-cell signals in tumours.

One function per section returns that section's numbers (tables, glued values, its part of the results
file); `analyse` runs them all and adds the claims check and the reporting box. Figures are drawn by
`osteobook.plots.ici_figures` from these numbers.

- `trial_responses`: the osteosarcoma-specific ICI arms of the curated trial tables, pooled with
  zero-event-aware methods (binomial-normal GLMM, exact, beta-binomial, Bayesian beta-binomial) next
  to the continuity-corrected inverse-variance pool; ICI alone vs ICI + TKI; camrelizumab + apatinib
  vs apatinib alone.
- `isg_tumours`: checkpoint genes and T-cell scores in the ISG/OS2 NanoString panel against overall and
  event-free survival and histological response; CD274 next to the published PD-L1 meta-analyses.
- `cibersort_fractions`: the data authors' CIBERSORT fractions of 139 tumours against survival.
- `gse21257_replication`: the same scores in GSE21257, where its 10,000 genes cover them.
- `caf_link`: iCAF/myCAF scores and CXCL12/TGFB1 against the T-cell scores (immune exclusion).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from ..datasets import autophagy, cohorts, gse21257, ici_tables, markers, trials
from ..datasets import purity as purity_data
from ..engine.params import validate
from ..prose import Markdown, intervals, trial_name
from ..sources import linked_table, source_cell
from ..stats import bayes, survival
from ..stats.groups import compare_groups, spearman_ci
from ..stats.meta_analysis import cochran_q, pool_proportions, subgroup_analysis
from ..stats.multiple_testing import adjust
from ..stats.proportions import proportion_ci
from ..stats.purity import partial_spearman
from ..stats.scores import gene_set_score

# ---- constants: every choice the chapter makes, in one place ------------------------------------

CHECKPOINT_GENES = ["CD274", "PDCD1", "CTLA4", "LAG3", "HAVCR2", "TIGIT", "IDO1"]
SCORE_SETS = ["T-cell-inflamed GEP", "IFN-γ (10 genes)", "CD8 T cells", "Cytotoxic cells", "T cells", "Macrophages"]
T_CELL_SCORES = ["T-cell-inflamed GEP", "IFN-γ (10 genes)", "CD8 T cells", "Cytotoxic cells"]
CAF_FEATURES = ["iCAF score", "myCAF score", "CXCL12", "TGFB1"]
CIBERSORT_CELLS = ["T cells CD8", "T cells regulatory (Tregs)", "Macrophages M2"]
MIN_COVERAGE = 0.5  # a set is scored in a cohort only if at least half of its genes are measured there
THRESHOLDS = bayes.THRESHOLDS  # response rates whose posterior exceedance probabilities are reported
REGIMENS = {"ICI": "ICI alone", "ICI + TKI": "ICI + TKI", "TKI + ICI": "ICI + TKI",
            "ICI + chemotherapy": "ICI + chemotherapy"}
GROUPS = ["all ICI regimens", "ICI alone", "ICI + TKI"]
PRIORS = {"jeffreys": (0.5, 0.5), "uniform": (1.0, 1.0), "enthusiastic": (1.0, 4.0)}
PRIOR_SENSITIVITY = 0.05  # a spread of P(rate > 10%) across the priors below this counts as prior-insensitive
PRIOR_LABELS = {"jeffreys": "Jeffreys Beta(0.5, 0.5)", "uniform": "uniform Beta(1, 1)",
                "enthusiastic": "enthusiastic Beta(1, 4)"}
# Boye et al. 2021 count 31 evaluable osteosarcoma patients over three paediatric ICI trials (their refs
# 14-16: KEYNOTE-051, ADVL1412, iMATRIX, as the curated row's notes record). A trial's own osteosarcoma
# row and the aggregate must never be pooled together.
PAEDIATRIC_AGGREGATE = "PEDIATRIC_ICI_POOLED_OS"
PAEDIATRIC_TRIALS = {"KEYNOTE051", "ADVL1412", "IMATRIX"}
COMBINATION_TKI = "apatinib"  # the TKI of the ICI + TKI arm that has single-agent arms in the TKI data
ENDPOINTS = {"OS": "overall survival", "EFS": "event-free survival"}
TABLE_STYLE = [{"selector": "td, th", "props": "padding: 3px 8px; vertical-align: top;"}]


def listing(items) -> str:
    """'a, b and c' for prose ('none' when empty)."""
    items = [str(i) for i in items]
    return "none" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """NumPy scalars as plain Python numbers (so glued values print plainly)."""
    return {key: value.item() if hasattr(value, "item") else value for key, value in values.items()}


def format_p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


# ---- trials ---------------------------------------------------------------------------------------

def ici_evidence(include_unverified: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ICI-containing arms: osteosarcoma-specific ones, and the others (context, never pooled)."""
    every = trials.evidence(include_unverified=include_unverified, osteosarcoma_only=False)
    ici = every.loc[every["drug_class"].str.contains("ICI")].copy()
    ici["regimen"] = ici["drug_class"].map(REGIMENS).fillna(ici["drug_class"])
    return (ici.loc[ici["osteosarcoma_specific"]].reset_index(drop=True),
            ici.loc[~ici["osteosarcoma_specific"]].reset_index(drop=True))


def response_arms(evidence: pd.DataFrame, paediatric_rows: str) -> pd.DataFrame:
    """One objective-response count per osteosarcoma-specific ICI arm, with exact CIs and upper bounds.

    `paediatric_rows` keeps either Boye et al.'s aggregate of the paediatric trials ('aggregate') or those
    trials' own rows ('per_trial'), never both.
    """
    rows = evidence.loc[(evidence["endpoint"] == "orr") & evidence["events"].notna() & evidence["n"].notna()]
    drop = (rows["trial_id"].isin(PAEDIATRIC_TRIALS) if paediatric_rows == "aggregate"
            else rows["arm_id"] == PAEDIATRIC_AGGREGATE)
    rows = rows.loc[~drop].assign(events=lambda r: r["events"].astype(int), n=lambda r: r["n"].astype(int))
    low, high = proportion_ci(rows["events"], rows["n"], "exact")
    rows = rows.assign(proportion=rows["events"] / rows["n"], ci_low=low, ci_high=high,
                       upper_one_sided=upper_bound(rows["events"], rows["n"], 0.95),
                       label=rows["trial_label"].map(trial_name))
    order = {name: i for i, name in enumerate(["ICI alone", "ICI + TKI", "ICI + chemotherapy"])}
    return rows.sort_values(["regimen", "label"], key=lambda s: s.map(order) if s.name == "regimen" else s
                            ).reset_index(drop=True)


def upper_bound(events, n, level: float) -> np.ndarray:
    """One-sided exact (Clopper–Pearson) upper confidence bound: the q-quantile of Beta(x + 1, n - x)."""
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    return np.where(events == n, 1.0, stats.beta.ppf(level, events + 1, n - events))


def group_rows(arms: pd.DataFrame, group: str) -> pd.DataFrame:
    return arms if group == "all ICI regimens" else arms.loc[arms["regimen"] == group]


def pool_group(rows: pd.DataFrame) -> pd.DataFrame:
    """The group's pooled response rate by every method the chapter compares (rows: methods)."""
    x, n = rows["events"].to_numpy(), rows["n"].to_numpy()
    out = []
    low, high = proportion_ci(x.sum(), n.sum(), "exact")
    out.append({"method": "exact, common rate", "proportion": x.sum() / n.sum(), "proportion_ci_low": float(low),
                "proportion_ci_high": float(high), "heterogeneity": np.nan})
    if len(rows) >= 2 and x.sum() > 0:
        glmm = pool_proportions(x, n, "logit", "GLMM")
        out.append({"method": "binomial-normal GLMM (ML)", **_fit_columns(glmm), "heterogeneity": glmm["tau2"]})
        ml = bayes.maximum_likelihood(x, n)
        out.append({"method": "beta-binomial (ML, profile CI)", **_fit_columns(ml), "heterogeneity": ml["rho"]})
    for transform, label in [("logit", "inverse variance, logit (+½ to zero cells)"),
                             ("freeman-tukey", "inverse variance, Freeman–Tukey")]:
        fit = pool_proportions(x, n, transform, "REML")
        out.append({"method": f"{label}, REML", **_fit_columns(fit), "heterogeneity": fit["tau2"]})
    return pd.DataFrame(out)


def _fit_columns(fit: dict[str, Any]) -> dict[str, float]:
    return {key: float(fit[key]) for key in ("proportion", "proportion_ci_low", "proportion_ci_high")}


def posterior_table(arms: pd.DataFrame) -> pd.DataFrame:
    """Conjugate beta-binomial posterior of each group's response rate under every prior."""
    rows = []
    for group in GROUPS:
        part = group_rows(arms, group)
        for prior, ab in PRIORS.items():
            post = bayes.conjugate(part["events"], part["n"], ab)
            rows.append({"group": group, "prior": prior, "events": int(part["events"].sum()),
                         "n": int(part["n"].sum()), **post.summary()})
    return pd.DataFrame(rows)


def glmm_difference(fits: dict[str, dict[str, Any]], first: str, second: str) -> dict[str, float]:
    """Wald test of two subgroup GLMM logits (Q-between with one degree of freedom)."""
    a, b = fits[first], fits[second]
    q, p = cochran_q(np.array([a["estimate"], b["estimate"]]), np.array([a["se"], b["se"]]) ** 2)
    difference = a["estimate"] - b["estimate"]
    return {"difference_logit": difference, "odds_ratio": float(np.exp(difference)), "q": q, "p": p}


def compare_counts(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    """Two response counts: difference with Newcombe's hybrid-score CI and Fisher's exact test."""
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    odds, p = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])
    return {"events_1": x1, "n_1": n1, "events_2": x2, "n_2": n2, "difference": x1 / n1 - x2 / n2,
            "ci_low": float(low), "ci_high": float(high), "fisher_p": float(p), "odds_ratio": float(odds)}


@dataclass(frozen=True)
class TrialResponses:
    """The ICI arms, their pooled response rates, the subgroup comparison and the apatinib comparison."""

    arms: pd.DataFrame  # pooled arms, one row each
    context: pd.DataFrame  # ICI results that are not osteosarcoma-specific (never pooled)
    other_endpoints: pd.DataFrame  # osteosarcoma-specific ICI values not pooled (other endpoints, overlaps)
    methods: pd.DataFrame  # group x method
    posteriors: pd.DataFrame  # group x prior
    apatinib: pd.DataFrame  # camrelizumab + apatinib against each apatinib-alone arm
    glue: dict[str, Any]
    results: dict[str, Any]


def trial_responses(include_unverified: bool, paediatric_rows: str, prior: str, alpha: float) -> TrialResponses:
    """Pool the osteosarcoma-specific ICI arms' responses and compare ICI alone, ICI + TKI and the TKI alone."""
    validate("ici", locals())
    evidence, context = ici_evidence(include_unverified)
    arms = response_arms(evidence, paediatric_rows)
    counted = set(arms["outcome_id"])
    other = evidence.loc[~evidence["outcome_id"].isin(counted)]
    methods = pd.concat([pool_group(group_rows(arms, g)).assign(group=g) for g in GROUPS], ignore_index=True)
    posteriors = posterior_table(arms)
    glmm = {g: pool_proportions(group_rows(arms, g)["events"], group_rows(arms, g)["n"], "logit", "GLMM")
            for g in GROUPS}
    subgroup = glmm_difference(glmm, "ICI + TKI", "ICI alone")
    two = arms.loc[arms["regimen"].isin(["ICI alone", "ICI + TKI"])]
    iv_groups, iv_between = subgroup_analysis(two, "regimen", transform="logit", method="REML")
    alone, combo = (group_rows(arms, g) for g in ("ICI alone", "ICI + TKI"))
    fisher = compare_counts(int(combo["events"].sum()), int(combo["n"].sum()),
                            int(alone["events"].sum()), int(alone["n"].sum()))
    chosen = {g: bayes.conjugate(group_rows(arms, g)["events"], group_rows(arms, g)["n"], PRIORS[prior])
              for g in ("ICI alone", "ICI + TKI")}
    p_combo_higher = bayes.prob_greater(chosen["ICI + TKI"], chosen["ICI alone"])
    apatinib, apatinib_pool = apatinib_comparison(include_unverified, arms)

    aggregate = evidence.loc[(evidence["arm_id"] == PAEDIATRIC_AGGREGATE) & (evidence["endpoint"] == "orr")]
    zero = arms.loc[arms["events"] == 0]
    largest_zero = zero.loc[zero["n"].idxmax()] if len(zero) else None
    post = posteriors.set_index(["group", "prior"])
    glue = {
        "include_unverified": include_unverified,
        "paediatric_label": {"aggregate": "Boye et al.'s aggregate of three paediatric trials",
                             "per_trial": "the paediatric trials' own osteosarcoma rows"}[paediatric_rows],
        "ici_k": len(arms), "ici_patients": int(arms["n"].sum()), "ici_responders": int(arms["events"].sum()),
        "ici_zero_arms": len(zero), "ici_one_arms": int((arms["events"] == 1).sum()),
        "ped_n": int(aggregate["n"].iloc[0]) if len(aggregate) else 0,
        "ped_events": int(aggregate["events"].iloc[0]) if len(aggregate) else 0,
        "context_k": context["arm_id"].nunique(),
        "context_list": listing(sorted(context["trial_label"].unique())),
        "prior_label": PRIOR_LABELS[prior],
        **{f"{key}_{part}": value for key, rows in (("alone", alone), ("combo", combo))
           for part, value in (("k", len(rows)), ("events", int(rows["events"].sum())),
                               ("n", int(rows["n"].sum())))},
        **_pooled_glue(methods, glmm),
        **_posterior_glue(post, prior),
        "sub_or": subgroup["odds_ratio"], "sub_p": subgroup["p"], "sub_q": subgroup["q"],
        "iv_sub_p": iv_between["p_between"], "fisher_p": fisher["fisher_p"], "fisher_diff": fisher["difference"],
        "fisher_low": fisher["ci_low"], "fisher_high": fisher["ci_high"], "p_combo_higher": p_combo_higher,
        "subgroup_verdict": Markdown(_subgroup_verdict(subgroup["p"], fisher["fisher_p"], alpha)),
        **_apatinib_glue(apatinib, apatinib_pool, alpha),
    }
    if largest_zero is not None:
        glue.update({"zero_label": largest_zero["label"], "zero_n": int(largest_zero["n"]),
                     "zero_upper": float(largest_zero["ci_high"]),
                     "zero_upper_one": float(largest_zero["upper_one_sided"]),
                     "zero_rule3": 3 / int(largest_zero["n"])})
    glue = _plain(glue)
    results = {
        "arms": arms[["arm_id", "outcome_id", "regimen", "events", "n", "proportion", "ci_low", "ci_high",
                      "upper_one_sided"]].to_dict(orient="records"),
        "methods": methods.to_dict(orient="records"),
        "glmm": {g: {k: v for k, v in fit.items() if not isinstance(v, str)} for g, fit in glmm.items()},
        "glmm_inputs": {g: {"events": [int(v) for v in group_rows(arms, g)["events"]],
                            "n": [int(v) for v in group_rows(arms, g)["n"]]} for g in GROUPS},
        "subgroup": {"glmm": subgroup, "inverse_variance": {**iv_between, "fits": iv_groups.drop(
            columns=["transform", "method", "test"]).to_dict(orient="records")}, "fisher": fisher,
                     "p_combo_higher": p_combo_higher, "prior": prior},
        "posteriors": posteriors.to_dict(orient="records"),
        "apatinib": {"arms": apatinib.to_dict(orient="records"), "pooled": apatinib_pool},
    }
    return TrialResponses(arms, context, other, methods, posteriors, apatinib, glue, results)


def _pooled_glue(methods: pd.DataFrame, glmm: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """GLMM and exact pooled rates of each group, and the spread over methods."""
    short = {"all ICI regimens": "all", "ICI alone": "alone", "ICI + TKI": "combo"}
    glue = {}
    for group, name in short.items():
        fit = glmm[group]
        rows = methods.loc[methods["group"] == group].set_index("method")
        glue.update({f"{name}_glmm": fit["proportion"], f"{name}_glmm_lo": fit["proportion_ci_low"],
                     f"{name}_glmm_hi": fit["proportion_ci_high"], f"{name}_tau2": fit["tau2"],
                     f"{name}_exact_hi": rows.at["exact, common rate", "proportion_ci_high"],
                     f"{name}_method_min": rows["proportion"].min(), f"{name}_method_max": rows["proportion"].max(),
                     f"{name}_hi_min": rows["proportion_ci_high"].min(),
                     f"{name}_hi_max": rows["proportion_ci_high"].max()})
        glue[f"{name}_exact"] = rows.at["exact, common rate", "proportion"]
        glue[f"{name}_cc"] = rows.at["inverse variance, logit (+½ to zero cells), REML", "proportion"]
        if "beta-binomial (ML, profile CI)" in rows.index:
            glue[f"{name}_bb_hi"] = rows.at["beta-binomial (ML, profile CI)", "proportion_ci_high"]
    return glue


def _posterior_glue(post: pd.DataFrame, prior: str) -> dict[str, Any]:
    glue = {}
    for group, name in (("ICI alone", "alone"), ("ICI + TKI", "combo"), ("all ICI regimens", "all")):
        row = post.loc[(group, prior)]
        glue.update({f"{name}_post_median": row["median"], f"{name}_post_lo": row["cri_low"],
                     f"{name}_post_hi": row["cri_high"],
                     **{f"{name}_p{round(100 * t)}": row[f"p_above_{t:g}"] for t in THRESHOLDS}})
        glue[f"{name}_p10_range_lo"] = min(post.loc[(group, p), "p_above_0.1"] for p in PRIORS)
        glue[f"{name}_p10_range_hi"] = max(post.loc[(group, p), "p_above_0.1"] for p in PRIORS)
    spread = glue["alone_p10_range_hi"] - glue["alone_p10_range_lo"]
    glue["alone_prior_verdict"] = Markdown(
        f"the priors move it by {spread:.3f}, " + ("less than 0.05: the data, not the prior, decide."
                                                    if spread < PRIOR_SENSITIVITY else
                                                    "0.05 or more: the prior matters and must be reported."))
    return glue


def _subgroup_verdict(glmm_p: float, fisher_p: float, alpha: float) -> str:
    both = glmm_p < alpha and fisher_p < alpha
    either = glmm_p < alpha or fisher_p < alpha
    if both:
        return (f"Both tests put the difference below α = {alpha:g}: arms that add a TKI respond more often than "
                "arms of an ICI alone.")
    if either:
        return (f"Only one of the two tests reaches α = {alpha:g}: the difference depends on the method, so it is "
                "suggestive, not established.")
    return f"Neither test reaches α = {alpha:g}: the data do not separate the two regimens."


def apatinib_comparison(include_unverified: bool, arms: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The ICI + apatinib arm against every apatinib-alone arm of the TKI data, and against their GLMM pool."""
    evidence = trials.evidence(include_unverified=include_unverified)
    alone = evidence.loc[(evidence["drug_class"] == "TKI") & (evidence["endpoint"] == "orr")
                         & evidence["agents"].str.contains(COMBINATION_TKI, case=False) & evidence["events"].notna()]
    combo = arms.loc[arms["agents"].str.contains(COMBINATION_TKI, case=False)]
    if combo.empty or alone.empty:
        return pd.DataFrame(), {}
    c = combo.iloc[0]
    rows = [{"combination": c["label"], "combination_arm": c["arm_id"],
             "tki_alone": trial_name(row.trial_label),
             "tki_arm": row.arm_id, **compare_counts(int(c["events"]), int(c["n"]), int(row.events), int(row.n))}
            for row in alone.itertuples()]
    pooled = pool_proportions(alone["events"].astype(int), alone["n"].astype(int), "logit", "GLMM") \
        if len(alone) >= 2 else {}
    pooled = {k: v for k, v in pooled.items() if not isinstance(v, str)}
    return pd.DataFrame(rows), {**pooled, "events": [int(v) for v in alone["events"]],
                                "n": [int(v) for v in alone["n"]]}


def _apatinib_glue(table: pd.DataFrame, pooled: dict[str, Any], alpha: float) -> dict[str, Any]:
    if table.empty:
        none = Markdown("The curated tables hold no apatinib-alone arm to compare with.")
        return {"apatinib_text": none, "apatinib_verdict": none}
    parts = []
    for row in table.itertuples():
        direction = "lower" if row.difference < 0 else "higher"
        verdict = "a difference below α" if row.fisher_p < alpha else "no difference below α"
        parts.append(f"against {row.tki_alone} ({row.events_2}/{row.n_2} = {row.events_2 / row.n_2:.0%}) the "
                     f"combination's rate is {abs(row.difference):.0%} {direction} (95% CI {row.ci_low:+.0%} to "
                     f"{row.ci_high:+.0%}; Fisher p = {format_p(row.fisher_p)}, {verdict} = {alpha:g})")
    text = "Camrelizumab + apatinib responded in {}/{} ({:.0%}): ".format(
        table["events_1"].iloc[0], table["n_1"].iloc[0], table["events_1"].iloc[0] / table["n_1"].iloc[0])
    text += "; ".join(parts) + "."
    best = table.loc[(table["events_2"] / table["n_2"]).idxmax()]
    higher = best["difference"] > 0 and best["fisher_p"] < alpha
    verdict = (f"Adding camrelizumab {'raised' if higher else 'did not raise'} the response rate above that of "
               f"apatinib alone in {best['tki_alone']} ({best['events_1'] / best['n_1']:.0%} vs "
               f"{best['events_2'] / best['n_2']:.0%}, Fisher p = {format_p(best['fisher_p'])}).")
    glue = {"apatinib_text": Markdown(text), "apatinib_k": len(table), "apatinib_verdict": Markdown(verdict),
            "apatinib_best_p": float(best["fisher_p"]), "apatinib_best_diff": float(best["difference"])}
    if pooled and "proportion" in pooled:
        glue.update({"apatinib_pool": pooled["proportion"], "apatinib_pool_lo": pooled["proportion_ci_low"],
                     "apatinib_pool_hi": pooled["proportion_ci_high"], "apatinib_tau2": pooled["tau2"]})
    return glue


def arm_table(result: TrialResponses) -> pd.io.formats.style.Styler:
    """The pooled arms for readers."""
    arms = result.arms
    table = pd.DataFrame({
        "Regimen": arms["regimen"], "Trial": arms["label"],
        "Arm": arms["arm_label"].str.replace(r"\s*\(.*\)$", "", regex=True),
        "Responders / n": arms["events"].astype(str) + " / " + arms["n"].astype(str),
        "Rate % (exact 95% CI)": [f"{100 * p:.1f} ({100 * lo:.1f}–{100 * hi:.1f})" for p, lo, hi in
                                zip(arms["proportion"], arms["ci_low"], arms["ci_high"], strict=True)],
        "Status": arms["status"], "Source and quote": arms.apply(source_cell, axis=1),
    })
    return (linked_table(table, ["Source and quote"], sortable=False).set_table_styles(TABLE_STYLE)
            .set_caption("Osteosarcoma-specific ICI arms with a response count (data/trial_outcomes.csv)"))


def context_table(result: TrialResponses) -> pd.io.formats.style.Styler:
    """ICI values kept out of every pool: other endpoints of the pooled arms and non-osteosarcoma cohorts."""
    def value(row: pd.Series) -> str:
        count = f"{int(row.events)}/{int(row.n)}" if pd.notna(row.events) and pd.notna(row.n) else ""
        unit = " months" if row.endpoint.startswith("median") else ""
        number = f"{row.estimate:.0%}" if row.endpoint in ("orr", "pfs_landmark") else f"{row.estimate:g}{unit}"
        return f"{count} ({number})" if count else number

    other = result.other_endpoints
    why = np.where(other["endpoint"] == "orr", "its patients are counted in another pooled row",
                   "osteosarcoma arm, not a response count")
    rows = pd.concat([other.assign(why=why), result.context.assign(why="not osteosarcoma-specific")],
                     ignore_index=True)
    endpoint = rows["endpoint"].map({"orr": "objective response", "pfs_landmark": "progression-free",
                                     "median_pfs": "median PFS", "median_os": "median OS"})
    table = pd.DataFrame({"Trial": rows["trial_label"], "Endpoint": endpoint + rows["landmark_label"].map(
        lambda s: f", {s}" if isinstance(s, str) else ""), "Value": rows.apply(value, axis=1),
        "Why not pooled": rows["why"], "Status": rows["status"], "Source and quote": rows.apply(source_cell, axis=1)})
    return (linked_table(table, ["Source and quote"], sortable=False).set_table_styles(TABLE_STYLE)
            .set_caption("ICI results shown for context, not pooled"))


def method_table(result: TrialResponses) -> pd.DataFrame:
    """Every group pooled every way, in percent."""
    m = result.methods
    return pd.DataFrame({
        "Group": m["group"], "Method": m["method"], "Pooled %": (100 * m["proportion"]).round(1),
        "95% CI": [f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(m["proportion_ci_low"], m["proportion_ci_high"],
                                                                       strict=True)],
        "Heterogeneity (τ² or ρ)": m["heterogeneity"].map(lambda v: "—" if pd.isna(v) else f"{v:.3f}"),
    }).set_index(["Group", "Method"])


def posterior_display(result: TrialResponses) -> pd.DataFrame:
    """Posterior medians, credible intervals and exceedance probabilities, for readers."""
    p = result.posteriors
    return pd.DataFrame({
        "Group": p["group"], "Prior": p["prior"].map(PRIOR_LABELS),
        "Responders / n": p["events"].astype(str) + " / " + p["n"].astype(str),
        "Median %": (100 * p["median"]).round(1),
        "95% CrI": [f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(p["cri_low"], p["cri_high"], strict=True)],
        **{f"P(rate > {t:.0%})": p[f"p_above_{t:g}"].map(lambda v: "< 0.001" if v < 0.0005 else f"{v:.3f}")
           for t in THRESHOLDS},
    }).set_index(["Group", "Prior"])


def pooled_glmm(result: TrialResponses) -> pd.DataFrame:
    """Each group's GLMM pooled rate (for the response figure)."""
    rows = result.methods.loc[result.methods["method"] == "binomial-normal GLMM (ML)"]
    return rows[["group", "proportion", "proportion_ci_low", "proportion_ci_high"]].reset_index(drop=True)


def posterior_parameters(result: TrialResponses, prior: str) -> dict[str, tuple[float, float]]:
    """Beta(a, b) posteriors of ICI alone and ICI + TKI under `prior` (for the response figure)."""
    validate("ici", locals())
    rows = result.posteriors.loc[(result.posteriors["prior"] == prior)
                                 & result.posteriors["group"].isin(["ICI alone", "ICI + TKI"])]
    return {row.group: (row.a, row.b) for row in rows.itertuples()}


# ---- tumours: ISG/OS2 -----------------------------------------------------------------------------

def score_sets(include_unverified: bool) -> dict[str, list[str]]:
    """The published sets scored in tumours: Ayers and Danaher (data/ici_gene_sets.csv) and Danaher's
    T-cell and CD8 markers (data/caf_markers.csv, shared with the CAF chapter)."""
    sets = ici_tables.gene_sets(ici_tables.load_gene_sets(include_unverified=include_unverified))
    sets.update(markers.marker_sets(markers.load_markers(include_unverified=include_unverified), "danaher2017"))
    return {name: sets[name] for name in SCORE_SETS}


def coverage(sets: dict[str, list[str]], measured) -> pd.DataFrame:
    """Per set: how many genes are measured, which are missing, and whether it is scored (MIN_COVERAGE)."""
    measured = set(measured)
    rows = [{"set": name, "genes": len(genes), "measured": sum(g in measured for g in genes),
             "missing": ", ".join(g for g in genes if g not in measured) or "none"} for name, genes in sets.items()]
    table = pd.DataFrame(rows)
    table["fraction"] = table["measured"] / table["genes"]
    table["scored"] = table["fraction"] >= MIN_COVERAGE
    return table


def scores(expression: pd.DataFrame, sets: dict[str, list[str]], table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Patients x scored sets (mean or median z-score of the measured genes)."""
    return pd.DataFrame({name: gene_set_score(expression, sets[name], method)
                         for name in table.loc[table["scored"], "set"]})


def cox_table(data: pd.DataFrame, time: str, event: str, features: list[str], label: str,
              adjust_for: list[str] | None = None) -> pd.DataFrame:
    """One Cox model per feature (per SD), optionally adjusted; BH q-values over the features."""
    rows = [survival.cox(data, time, event, [feature, *(adjust_for or [])], per_sd=[feature]).iloc[[0]]
            for feature in features]
    table = pd.concat(rows, ignore_index=True).assign(cohort=label)
    table["q"] = adjust(table["p"])
    return table


@dataclass(frozen=True)
class IsgTumours:
    """ISG/OS2 patients with checkpoint genes and scores; Cox models, response and the PD-L1 anchors."""

    data: pd.DataFrame
    coverage: pd.DataFrame
    cox: pd.DataFrame  # feature x endpoint
    cd274_split: pd.DataFrame  # CD274 above vs below its median, OS and EFS
    response: pd.DataFrame  # GR vs PR per feature
    anchors: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def isg_tumours(include_unverified: bool, bulk_score: str, alpha: float) -> IsgTumours:
    """Checkpoint genes and T-cell scores against survival and histological response in ISG/OS2."""
    validate("ici", locals())
    expression, clinical = cohorts.read_isg_os2()
    sets = score_sets(include_unverified)
    cover = coverage(sets, expression.index)
    data = clinical.join(expression.loc[CHECKPOINT_GENES].T).join(scores(expression, sets, cover, bulk_score))
    features = [*CHECKPOINT_GENES, *cover.loc[cover["scored"], "set"]]
    cox = pd.concat([cox_table(data, f"{e}_months", f"STATUS_{e}", features, "ISG/OS2").assign(endpoint=e)
                     for e in ENDPOINTS], ignore_index=True)
    data["CD274 above median"] = (data["CD274"] > data["CD274"].median()).astype(float)
    split = pd.concat([survival.cox(data, f"{e}_months", f"STATUS_{e}", ["CD274 above median"]).assign(endpoint=e)
                       for e in ENDPOINTS], ignore_index=True)
    response = pd.DataFrame([{"feature": f, **compare_groups(data[f], data["HistologicResponse"], high="GR", low="PR")}
                             for f in features])
    response["q"] = adjust(response["p_mannwhitney"])
    anchors = ici_tables.load_anchors(include_unverified=include_unverified)

    by = cox.set_index(["endpoint", "term"])
    cd274_os, cd274_efs = by.loc[("OS", "CD274")], by.loc[("EFS", "CD274")]
    split_os = split.set_index("endpoint").loc["OS"]
    gu = anchors.set_index("anchor_id").loc["GU_OS"] if "GU_OS" in set(anchors["anchor_id"]) else None
    glue = _plain({
        "isg_n": len(data), "isg_genes": expression.shape[0],
        "isg_os_events": int(data["STATUS_OS"].sum()), "isg_efs_events": int(data["STATUS_EFS"].sum()),
        "isg_gr": int((data["HistologicResponse"] == "GR").sum()),
        "isg_pr": int((data["HistologicResponse"] == "PR").sum()),
        "gep_measured": int(cover.set_index("set").at["T-cell-inflamed GEP", "measured"]),
        "gep_missing": cover.set_index("set").at["T-cell-inflamed GEP", "missing"],
        "isg_n_features": len(features), "isg_n_sig": int((cox["q"] < alpha).sum()),
        "isg_intervals": intervals(cox["term"] + " (" + cox["endpoint"] + ")", cox["ci_low"], cox["ci_high"]),
        "isg_min_q": float(cox["q"].min()), "isg_min_q_term": cox.loc[cox["q"].idxmin(), "term"],
        "isg_min_q_endpoint": cox.loc[cox["q"].idxmin(), "endpoint"],
        "isg_hr_min": float(cox["hr"].min()), "isg_hr_max": float(cox["hr"].max()),
        "isg_below_one": int((cox["hr"] < 1).sum()), "isg_n_models": len(cox),
        "isg_ph_min": float(cox["ph_p"].min()), "isg_ph_n_low": int((cox["ph_p"] < alpha).sum()),
        "isg_ph_terms": listing(f"{r.term} ({r.endpoint})" for r in cox.loc[cox["ph_p"] < alpha].itertuples()),
        "cd274_os_hr": cd274_os["hr"], "cd274_os_lo": cd274_os["ci_low"], "cd274_os_hi": cd274_os["ci_high"],
        "cd274_os_p": cd274_os["p"], "cd274_efs_hr": cd274_efs["hr"], "cd274_efs_lo": cd274_efs["ci_low"],
        "cd274_efs_hi": cd274_efs["ci_high"],
        "cd274_split_hr": split_os["hr"], "cd274_split_lo": split_os["ci_low"], "cd274_split_hi": split_os["ci_high"],
        "resp_n_sig": int((response["q"] < alpha).sum()), "resp_min_q": float(response["q"].min()),
        "resp_auc_min": float(response["auc"].min()), "resp_auc_max": float(response["auc"].max()),
        "anchor_text": Markdown(_anchor_text(split_os, gu)),
        **_anchor_range(anchors),
        "gep_approx_text": Markdown(f"{int(cover.set_index('set').at['T-cell-inflamed GEP', 'measured'])} of the 18 "
                                    "genes"),
    })
    results = {"n": len(data), "coverage": cover.to_dict(orient="records"),
               "genes": {name: [g for g in sets[name] if g in expression.index]
                         for name in cover.loc[cover["scored"], "set"]},
               "cox": cox.to_dict(orient="records"), "cd274_split": split.to_dict(orient="records"),
               "response": response.to_dict(orient="records")}
    isg = IsgTumours(data, cover, cox, split, response, anchors, glue, results)
    ours, published = anchor_comparison(isg)
    glue["cd274_intervals"] = intervals(ours["label"], ours["ci_low"], ours["ci_high"])
    glue["anchor_intervals"] = intervals(published["label"], published["ci_low"], published["ci_high"])
    return isg


def _anchor_range(anchors: pd.DataFrame) -> dict[str, float]:
    """Smallest and largest published overall-survival hazard ratio for high PD-L1."""
    os_hr = anchors.loc[(anchors["measure"] == "HR") & (anchors["outcome"] == "overall survival"), "estimate"]
    return {"anchor_hr_min": float(os_hr.min()), "anchor_hr_max": float(os_hr.max()), "anchor_hr_k": len(os_hr)}


def _anchor_text(split_os: pd.Series, gu: pd.Series | None) -> str:
    """Where the chapter's CD274 high-vs-low hazard ratio sits against the osteosarcoma PD-L1 meta-analysis."""
    ours = f"HR {split_os['hr']:.2f} (95% CI {split_os['ci_low']:.2f} to {split_os['ci_high']:.2f})"
    if gu is None:
        return f"CD274 mRNA above vs below its median: {ours}."
    contains = split_os["ci_low"] <= gu["estimate"] <= split_os["ci_high"]
    excludes_one = split_os["ci_low"] > 1 or split_os["ci_high"] < 1
    return (f"CD274 mRNA above vs below its median gives {ours} for overall survival; Gu's pooled HR for high "
            f"PD-L1 protein, {gu['estimate']:.2f}, {'lies inside' if contains else 'lies outside'} this interval, "
            f"and the interval {'excludes' if excludes_one else 'includes'} 1.")


def coverage_display(table: pd.DataFrame) -> pd.DataFrame:
    """Which genes of each set a cohort measures, for readers."""
    return pd.DataFrame({"Set or gene": table["set"], "Measured / genes": table["measured"].astype(str) + " / "
                         + table["genes"].astype(str), "Missing": table["missing"],
                         "Scored": table["scored"].map({True: "yes", False: "no"})}).set_index("Set or gene")


def cox_display(table: pd.DataFrame) -> pd.DataFrame:
    """A Cox table for readers: HR per SD with CI, p, BH q and the PH test."""
    return pd.DataFrame({
        "Feature": table["term"], "Endpoint": table.get("endpoint", pd.Series("OS", index=table.index)),
        "HR per SD (95% CI)": [f"{hr:.2f} ({lo:.2f}–{hi:.2f})" for hr, lo, hi in
                               zip(table["hr"], table["ci_low"], table["ci_high"], strict=True)],
        "p": table["p"].map(format_p), "q (BH)": table["q"].map(format_p), "PH test p": table["ph_p"].map(format_p),
        "Events / n": table["events"].astype(str) + " / " + table["n"].astype(str),
    }).set_index(["Endpoint", "Feature"])


SURVIVAL_ORIENTED = ["overall survival", "disease-free survival", "mortality"]  # > 1 = worse, like a hazard ratio


def anchor_comparison(result: IsgTumours) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapter's CD274 hazard ratios and the published estimates oriented the same way (> 1 = worse)."""
    per_sd = result.cox.loc[result.cox["term"] == "CD274"]
    ours = pd.concat([
        pd.DataFrame({"label": "ISG/OS2 CD274 per SD, " + per_sd["endpoint"], "estimate": per_sd["hr"],
                      "ci_low": per_sd["ci_low"], "ci_high": per_sd["ci_high"]}),
        pd.DataFrame({"label": "ISG/OS2 CD274 above median, " + result.cd274_split["endpoint"],
                      "estimate": result.cd274_split["hr"], "ci_low": result.cd274_split["ci_low"],
                      "ci_high": result.cd274_split["ci_high"]})], ignore_index=True)
    anchors = result.anchors.loc[result.anchors["outcome"].isin(SURVIVAL_ORIENTED),
                                 ["label", "measure", "estimate", "ci_low", "ci_high"]].reset_index(drop=True)
    return ours, anchors


def anchor_table(result: IsgTumours) -> pd.io.formats.style.Styler:
    """Every curated PD-L1 anchor for readers."""
    a = result.anchors
    table = pd.DataFrame({
        "Meta-analysis": a["label"], "Population": a["population"], "Marker": a["marker"],
        "Measure (95% CI)": [f"{m} {e:g} ({lo:g}–{hi:g})" for m, e, lo, hi in
                             zip(a["measure"], a["estimate"], a["ci_low"], a["ci_high"], strict=True)],
        "Studies / patients": a["n_studies"].astype(str) + " / " + a["n_patients"].astype(str),
        "Note": a["notes"],
    })
    return (table.style.hide(axis="index").set_table_styles(TABLE_STYLE)
            .set_caption("Published PD-L1 prognosis meta-analyses (data/ici_anchors.csv, quotes in the file)"))


# ---- CIBERSORT fractions --------------------------------------------------------------------------

@dataclass(frozen=True)
class CibersortFractions:
    data: pd.DataFrame
    cox: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def cibersort_fractions(alpha: float) -> CibersortFractions:
    """CD8 T cells, Tregs and M2 macrophages (the data authors' CIBERSORT) against overall survival,
    adjusted for the cohort (TARGET-OS vs GSE21257)."""
    validate("ici", locals())
    fractions, quality = autophagy.read_cibersort()
    clinical = autophagy.read_clinical(fractions.index)
    cohort = autophagy.cohort_of(fractions.index)
    data = fractions[CIBERSORT_CELLS].join(clinical[["futime", "fustate"]]).assign(
        target_cohort=(cohort == "TARGET").astype(float), cohort=cohort)
    usable = data.loc[data["futime"] > 0]
    cox = cox_table(usable, "futime", "fustate", CIBERSORT_CELLS, "CIBERSORT", adjust_for=["target_cohort"])
    zero_share = (fractions[CIBERSORT_CELLS] == 0).mean()
    by = cox.set_index("term")
    glue = _plain({
        "cib_n": len(data), "cib_used": len(usable), "cib_zero_time": int((data["futime"] <= 0).sum()),
        "cib_target": int((cohort == "TARGET").sum()), "cib_gse": int((cohort == "GSE21257").sum()),
        "cib_events": int(usable["fustate"].sum()), "cib_p_sig": int((quality["P-value"] < 0.05).sum()),
        "cib_cd8_zero": float(zero_share["T cells CD8"]),
        "cib_treg_zero": float(zero_share["T cells regulatory (Tregs)"]),
        "cib_n_sig": int((cox["q"] < alpha).sum()),
        "cib_intervals": intervals(cox["term"], cox["ci_low"], cox["ci_high"]),
        **{f"cib_{short}_{key}": by.at[cell, col] for cell, short in
           zip(CIBERSORT_CELLS, ["cd8", "treg", "m2"], strict=True)
           for key, col in (("hr", "hr"), ("lo", "ci_low"), ("hi", "ci_high"), ("q", "q"), ("ph", "ph_p"))},
    })
    results = {"n": len(data), "n_used": len(usable), "cox": cox.to_dict(orient="records"),
               "samples": list(usable.index)}
    return CibersortFractions(usable, cox, glue, results)


# ---- GSE21257 replication -------------------------------------------------------------------------

@dataclass(frozen=True)
class Replication:
    data: pd.DataFrame
    coverage: pd.DataFrame
    cox: pd.DataFrame
    comparison: pd.DataFrame  # ISG/OS2 vs GSE21257 OS hazard ratios of the shared features
    glue: dict[str, Any]
    results: dict[str, Any]


def gse21257_replication(include_unverified: bool, bulk_score: str, alpha: float, isg_cox: pd.DataFrame) -> Replication:
    """The ISG/OS2 features that GSE21257's 10,000 genes cover, against overall survival."""
    validate("ici", locals())
    expression, table, _ = gse21257.join_survival()
    sets = score_sets(include_unverified)
    genes = pd.DataFrame({"set": CHECKPOINT_GENES, "genes": 1,
                          "measured": [int(g in expression.index) for g in CHECKPOINT_GENES]})
    cover = pd.concat([coverage(sets, expression.index),
                       genes.assign(missing=np.where(genes["measured"] == 1, "none", genes["set"]),
                                    fraction=genes["measured"].astype(float), scored=genes["measured"] == 1)],
                      ignore_index=True)
    present = [g for g in CHECKPOINT_GENES if g in expression.index]
    data = table[["futime", "fustate"]].join(expression.loc[present].T).join(
        scores(expression, sets, cover.loc[cover["set"].isin(sets)], bulk_score))
    features = [f for f in [*CHECKPOINT_GENES, *sets] if f in data.columns]
    cox = cox_table(data, "futime", "fustate", features, "GSE21257")
    isg_os = isg_cox.loc[isg_cox["endpoint"] == "OS"].set_index("term")
    comparison = pd.DataFrame({"feature": features, "hr_isg": isg_os["hr"].reindex(features).to_numpy(),
                               "hr_gse": cox.set_index("term")["hr"].reindex(features).to_numpy()})
    comparison["same_direction"] = np.sign(np.log(comparison["hr_isg"])) == np.sign(np.log(comparison["hr_gse"]))
    glue = _plain({
        "gse_n": len(data), "gse_events": int(data["fustate"].sum()), "gse_genes": expression.shape[0],
        "gse_n_features": len(features), "gse_missing_checkpoints": listing(g for g in CHECKPOINT_GENES
                                                                            if g not in expression.index),
        "gse_n_missing_checkpoints": sum(g not in expression.index for g in CHECKPOINT_GENES),
        "replication_text": Markdown(_replication_text(int((cox["q"] < alpha).sum()),
                                                       int((isg_cox["q"] < alpha).sum()),
                                                       int(comparison["same_direction"].sum()), len(features))),
        "gse_unscored": listing(cover.loc[~cover["scored"] & cover["set"].isin(sets), "set"]),
        "gse_n_sig": int((cox["q"] < alpha).sum()), "gse_min_q": float(cox["q"].min()),
        "gse_ph_min": float(cox["ph_p"].min()), "gse_ph_term": cox.loc[cox["ph_p"].idxmin(), "term"],
        "gse_same_direction": int(comparison["same_direction"].sum()),
        "replication_intervals": intervals(
            [f"{f} in {c}" for c in ("ISG/OS2", "GSE21257") for f in features],
            [*isg_os["ci_low"].reindex(features), *cox.set_index("term")["ci_low"].reindex(features)],
            [*isg_os["ci_high"].reindex(features), *cox.set_index("term")["ci_high"].reindex(features)]),
        "gse_r_best_min": float(table["r_best"].min()),
    })
    results = {"n": len(data), "coverage": cover.to_dict(orient="records"),
               "genes": {name: [g for g in sets[name] if g in expression.index]
                         for name in features if name in sets},
               "cox": cox.to_dict(orient="records"), "comparison": comparison.to_dict(orient="records")}
    return Replication(data, cover, cox, comparison, glue, results)


def _replication_text(gse_sig: int, isg_sig: int, same: int, k: int) -> str:
    """What agreement between the cohorts means, by the counts of significant features."""
    if gse_sig == 0 and isg_sig == 0:
        return (f"Neither cohort has a feature below the FDR threshold; {same} of {k} estimates agreeing in direction "
                "is at most a hint of a small effect, not a replication of a finding.")
    return (f"{isg_sig} ISG/OS2 and {gse_sig} GSE21257 models pass the FDR threshold; a finding replicates only if the "
            "same feature passes in both cohorts with the same direction (figure above).")


# ---- the CAF link ---------------------------------------------------------------------------------

def caf_sets(table: pd.DataFrame, source: str) -> dict[str, list[str]]:
    """iCAF and myCAF genes of `source` with the review's own iCAF/myCAF genes added (as the CAF chapter)."""
    own = markers.marker_sets(table, source, ["iCAF", "myCAF"])
    review = markers.marker_sets(table, "cafreview2025", ["iCAF", "myCAF"])
    return {f"{name} score": list(dict.fromkeys(own.get(name, []) + review.get(name, [])))
            for name in ("iCAF", "myCAF")}


@dataclass(frozen=True)
class CafLink:
    pairs: pd.DataFrame  # cohort x CAF feature x T-cell score: Spearman rho, bootstrap CI, q
    coverage: pd.DataFrame
    treg: dict[str, float]
    glue: dict[str, Any]
    results: dict[str, Any]


def caf_link(marker_source: str, include_unverified: bool, bulk_score: str, alpha: float, n_boot: int,
             seed: int, isg: IsgTumours, replication: Replication) -> CafLink:
    """CAF scores and CAF-secreted factors against T-cell scores, in ISG/OS2 and GSE21257 (BH over all pairs)."""
    validate("ici", locals())
    rng = np.random.default_rng(seed)
    table = markers.load_markers(include_unverified=include_unverified)
    sets = caf_sets(table, marker_source)
    isg_expression, _ = cohorts.read_isg_os2()
    gse_expression, _, _ = gse21257.join_survival()
    estimate = purity_data.read_estimate_sets()
    t_sets = score_sets(include_unverified)
    rows, covers = [], []
    for cohort, expression, immune in (("ISG/OS2", isg_expression, isg.data),
                                       ("GSE21257", gse_expression, replication.data)):
        cover = coverage(sets, expression.index).assign(cohort=cohort)
        covers.append(cover)
        features = scores(expression, sets, cover, bulk_score)
        for gene in ("CXCL12", "TGFB1"):
            if gene in expression.index:
                features[gene] = expression.loc[gene]
        for feature in [f for f in CAF_FEATURES if f in features]:
            for score in [s for s in T_CELL_SCORES if s in immune]:
                t_cells = immune[score].reindex(features.index)
                purity = _estimate_score(expression, estimate, set(sets.get(feature, [feature])) | set(t_sets[score]),
                                         bulk_score).reindex(features.index)
                adjusted = partial_spearman(features[feature], t_cells, purity.rename("ESTIMATE"))
                rows.append({"cohort": cohort, "feature": feature, "immune score": score,
                             **spearman_ci(features[feature], t_cells, rng, n_boot),
                             "rho_purity": adjusted["rho"], "purity_low": adjusted["ci_low"],
                             "purity_high": adjusted["ci_high"]})
    pairs = pd.DataFrame(rows)
    pairs["q"] = adjust(pairs["p"])
    treg = spearman_ci(isg_expression.loc["TGFB1"], isg_expression.loc["FOXP3"], rng, n_boot)
    negative, positive = pairs.loc[(pairs["q"] < alpha) & (pairs["rho"] < 0)], pairs.loc[(pairs["q"] < alpha)
                                                                                         & (pairs["rho"] > 0)]
    significant = pairs.loc[pairs["q"] < alpha]
    survives = (significant["purity_low"] > 0) | (significant["purity_high"] < 0)
    cover = pd.concat(covers, ignore_index=True)
    glue = _plain({
        "caf_n_pairs": len(pairs), "caf_n_negative": len(negative), "caf_n_positive": len(positive),
        "caf_rho_min": float(pairs["rho"].min()), "caf_rho_max": float(pairs["rho"].max()),
        "caf_heatmap_alt": "; ".join(
            f"in {cohort} ρ runs from {part['rho'].min():.2f} to {part['rho'].max():.2f} and {int((part['q'] < alpha).sum())} "
            f"of {len(part)} cells are starred" for cohort, part in pairs.groupby("cohort", sort=False)),
        "caf_unscored": listing(f"{r.set} in {r.cohort} ({r.measured} of {r.genes} genes)"
                                for r in cover.loc[~cover["scored"]].itertuples()),
        "caf_source": marker_source,
        "treg_rho": treg["rho"], "treg_lo": treg["ci_low"], "treg_hi": treg["ci_high"], "treg_p": treg["p"],
        "caf_verdict": Markdown(_exclusion_verdict(len(negative), len(positive), len(pairs), alpha, {
            "removed": int((~survives).sum()), "negative": int((survives & (significant["rho_purity"] < 0)).sum()),
            "positive": int((survives & (significant["rho_purity"] > 0)).sum())})),
        **_pair_glue(pairs, "ISG/OS2", "CXCL12", "CD8 T cells", "cxcl12_cd8"),
        **_pair_glue(pairs, "ISG/OS2", "iCAF score", "T-cell-inflamed GEP", "icaf_gep"),
        **_pair_glue(pairs, "GSE21257", "CXCL12", "T-cell-inflamed GEP", "gse_cxcl12_gep"),
        **_pair_glue(pairs, "GSE21257", "myCAF score", "T-cell-inflamed GEP", "mycaf_gep"),
    })
    results = {"pairs": pairs.to_dict(orient="records"), "coverage": cover.to_dict(orient="records"),
               "genes": {f"{r.cohort}: {name}": [g for g in genes if g in (isg_expression.index if r.cohort == "ISG/OS2"
                                                                          else gse_expression.index)]
                         for name, genes in sets.items() for r in cover.loc[cover["set"] == name].itertuples()
                         if r.scored},
               "treg": treg}
    return CafLink(pairs, cover, treg, glue, results)


def _pair_glue(pairs: pd.DataFrame, cohort: str, feature: str, score: str, name: str) -> dict[str, float]:
    row = pairs.loc[(pairs["cohort"] == cohort) & (pairs["feature"] == feature) & (pairs["immune score"] == score)]
    if row.empty:
        return {}
    row = row.iloc[0]
    return {f"{name}_rho": row["rho"], f"{name}_lo": row["ci_low"], f"{name}_hi": row["ci_high"], f"{name}_q": row["q"]}


def _estimate_score(expression: pd.DataFrame, estimate: dict[str, list[str]], exclude: set[str],
                    method: str) -> pd.Series:
    """ESTIMATE stromal + immune score (Yoshihara 2013) over the measured genes, without the genes in `exclude`."""
    return sum(gene_set_score(expression, [g for g in genes if g in expression.index and g not in exclude], method)
               for genes in estimate.values())


def _purity_checked(verdict: str, pair: pd.Series) -> str:
    """A significant bulk CAF-vs-T-cell verdict stands only if the ESTIMATE-adjusted CI lies above 0 (see
    `_exclusion_verdict`); otherwise it is 'Not interpretable without purity adjustment'."""
    if verdict == "Inconclusive" or pair["purity_low"] > 0:
        return verdict
    return "Not interpretable without purity adjustment"


def _exclusion_verdict(n_negative: int, n_positive: int, n_pairs: int, alpha: float,
                       adjusted: dict[str, int] | None = None) -> str:
    """Immune exclusion predicts negative correlations. In bulk tissue stroma and T cells both dilute the tumour, so
    significant pairs are re-read after adjustment for the ESTIMATE score (`adjusted`: how many lose a CI clear of 0,
    stay negative, stay positive). Given the non-tumour content, stromal and T-cell transcripts compete for the rest,
    so adjustment biases towards negative values: only a positive correlation that survives it counts (against the
    claim); otherwise the verdict is 'not interpretable without purity adjustment'."""
    if adjusted is not None and (n_negative or n_positive):
        detail = (f"{n_negative + n_positive} of {n_pairs} pairs correlate at FDR {alpha:g} ({n_positive} positively). "
                  f"Adjusted for the ESTIMATE score (stromal + immune content), the CI includes 0 for "
                  f"{adjusted['removed']}, lies below 0 for {adjusted['negative']} (which conditioning on non-tumour "
                  f"content can produce by itself) and above 0 for {adjusted['positive']}.")
        if adjusted["positive"] and not n_negative:
            return f"Evidence against: {detail} A positive correlation surviving an adjustment biased towards negative " \
                   "values is not what exclusion predicts."
        if adjusted["positive"]:
            return f"Mixed: {detail}"
        return f"Not interpretable without purity adjustment: {detail}"
    if n_negative and not n_positive:
        return f"Supported: {n_negative} of {n_pairs} pairs correlate negatively at FDR {alpha:g}, none positively."
    if n_positive and not n_negative:
        return (f"Evidence against: {n_positive} of {n_pairs} pairs correlate positively at FDR {alpha:g} and none "
                "negatively: tumours richer in CAF transcripts are richer, not poorer, in T-cell transcripts.")
    if n_positive and n_negative:
        return f"Mixed: {n_negative} negative and {n_positive} positive pairs at FDR {alpha:g}."
    return f"Inconclusive: no pair reaches FDR {alpha:g}."


# ---- claims, reporting and the whole chapter ------------------------------------------------------

def verdict_from_test(estimate_direction: float, predicted_sign: int, p_or_q: float, alpha: float) -> str:
    """The chapter's rule: 'supported' if significant in the predicted direction, 'evidence against' if
    significant in the opposite direction, else 'inconclusive' (not significant is not evidence of absence)."""
    if p_or_q >= alpha:
        return "Inconclusive"
    return "Supported" if np.sign(estimate_direction) == predicted_sign else "Evidence against"


MINI = "mini review, abstract"
CLAIMS = {  # the reviews' statements, quoted, with where they are
    "single": "“Recent clinical studies have explored ... immune checkpoint inhibitors. Although some agents achieve "
              f"transient disease stabilization or partial responses ...” ({MINI})",
    "combination": "“combination regimens—such as ... TKI with immunotherapy—have shown promise in preclinical and "
                   f"early clinical trials” ({MINI})",
    "cold": "“One of the major obstacles to successful cancer immunotherapy is the immunologically “cold” tumor "
            "microenvironment, where there is minimal infiltration by cytotoxic T cells” (CAF review, §3)",
    "cxcl12": "“CAFs secrete CXCL12, which can bind to CXCR4 on the surface of T cells, hindering their infiltration” "
              "(CAF review, §3.1)",
    "excluded": "“CAFs are central characters in plotting such an immune-excluded phenotype” (CAF review, §3)",
    "treg": "TGF-β from CAFs promotes “the differentiation of initial CD4 + T cells into immunosuppressive regulatory "
            "T cells (Tregs)” (CAF review, §3.1)",
    "m2": "CAFs attract “M2 polarized macrophages, and Tregs, synergistically creating an inhibitory immune "
          "microenvironment” (CAF review, §3.2)",
}


def claims_table(trial: TrialResponses, isg: IsgTumours, cib: CibersortFractions, link: CafLink,
                 alpha: float, prior: str) -> pd.DataFrame:
    """The reviews' immune statements, the chapter's evidence and a verdict by `verdict_from_test`'s rule."""
    g = {**trial.glue, **isg.glue, **cib.glue, **link.glue}
    cibersort = cib.cox.set_index("term")
    m2, treg = cibersort.loc["Macrophages M2"], cibersort.loc["T cells regulatory (Tregs)"]
    cxcl12 = link.pairs.loc[link.pairs["feature"] == "CXCL12"]
    cx = cxcl12.loc[cxcl12["q"].idxmin()]
    if trial.apatinib.empty:
        vs_tki, vs_tki_verdict = "no apatinib-alone arm to compare", "Not assessable"
    else:
        lowest = trial.apatinib.loc[trial.apatinib["fisher_p"].idxmin()]
        counts = ", ".join(f"{r.events_2}/{r.n_2}" for r in trial.apatinib.itertuples())
        side = "lower" if lowest["difference"] < 0 else "higher"
        vs_tki = f"vs apatinib alone ({counts}): smallest Fisher p = {format_p(lowest['fisher_p'])}, combination {side}"
        vs_tki_verdict = verdict_from_test(lowest["difference"], 1, lowest["fisher_p"], alpha)
    evidence_verdict = [
        ("single",
         (f"ICI alone: {g['alone_events']}/{g['alone_n']} responders in {g['alone_k']} arms; posterior P(rate > 10%) = "
         f"{g['alone_p10']:.3f} ({PRIOR_LABELS[prior]})"),
         "Partial responses occur but are rare" if g["alone_p10"] < alpha
         else "Inconclusive: a response rate above 10% is not excluded"),
        ("combination",
         (f"ICI + TKI {g['combo_events']}/{g['combo_n']} vs ICI alone {g['alone_events']}/{g['alone_n']}: GLMM odds "
         f"ratio {g['sub_or']:.1f}, p = {format_p(g['sub_p'])}; {vs_tki}"),
         (f"vs ICI alone: {verdict_from_test(g['sub_or'] - 1, 1, g['sub_p'], alpha)}; vs the TKI alone: "
         f"{vs_tki_verdict}")),
        ("cold",
         (f"ICI alone: {g['alone_events']}/{g['alone_n']} responders, exact 95% upper bound {g['alone_exact_hi']:.1%}; "
         "no reference cohort of other cancers to call the tumours 'cold'"),
         f"{'Consistent' if g['alone_exact_hi'] < THRESHOLDS[-1] else 'Inconclusive'} (trials); not tested (tumours)"),
        ("cxcl12",
         (f"CXCL12 vs T-cell scores: strongest pair {cx['cohort']} {cx['immune score']} ρ = {cx['rho']:.2f}, "
         f"q = {format_p(cx['q'])}; given the ESTIMATE score ρ = {cx['rho_purity']:.2f} ({cx['purity_low']:.2f} to "
         f"{cx['purity_high']:.2f})"),
         (f"{_purity_checked(verdict_from_test(cx['rho'], -1, cx['q'], alpha), cx)} (bulk mRNA; spatial exclusion is "
         "not testable here)")),
        ("excluded",
         (f"{g['caf_n_pairs']} CAF-feature × T-cell-score pairs: {g['caf_n_negative']} negative, "
         f"{g['caf_n_positive']} positive at FDR {alpha:g}"),
         f"{str(link.glue['caf_verdict']).split(':')[0]} (bulk mRNA)"),
        ("treg",
         (f"ISG/OS2 TGFB1 vs FOXP3 ρ = {g['treg_rho']:.2f} (p = {format_p(g['treg_p'])}); CIBERSORT Tregs HR "
         f"{treg['hr']:.2f} per SD (q = {format_p(treg['q'])})"),
         (f"correlation: {verdict_from_test(g['treg_rho'], 1, g['treg_p'], alpha)}; outcome: "
         f"{verdict_from_test(np.log(treg['hr']), 1, treg['q'], alpha)}")),
        ("m2",
         (f"CIBERSORT M2 macrophages HR {m2['hr']:.2f} per SD (95% CI {m2['ci_low']:.2f}–{m2['ci_high']:.2f}, "
         f"q = {format_p(m2['q'])}), cohort-adjusted"),
         f"worse outcome predicted: {verdict_from_test(np.log(m2['hr']), 1, m2['q'], alpha)}"),
    ]
    return pd.DataFrame([{"Review statement": CLAIMS[key], "Evidence in this chapter": evidence, "Verdict": verdict}
                         for key, evidence, verdict in evidence_verdict]).set_index("Review statement")


def _reporting(trial: TrialResponses, isg: IsgTumours, cib: CibersortFractions, prior: str,
               alpha: float) -> dict[str, Markdown]:
    g = {**trial.glue, **isg.glue, **cib.glue}
    association = (f"was not associated with overall survival at α = {alpha:g}" if g["cd274_os_p"] >= alpha
                   else f"was associated with overall survival (p < {alpha:g})")
    return {
        "report_trials": Markdown(
            f"Across {g['ici_k']} osteosarcoma-specific arms of immune checkpoint inhibitors ({g['ici_patients']} "
            f"patients, {g['ici_responders']} responders), the pooled objective response rate was "
            f"{g['all_glmm']:.1%} (95% CI {g['all_glmm_lo']:.1%} to {g['all_glmm_hi']:.1%}; binomial-normal "
            f"random-effects model fitted by maximum likelihood, as metafor's rma.glmm). With an ICI alone "
            f"{g['alone_events']} of {g['alone_n']} patients responded ({g['alone_glmm']:.1%}, 95% CI "
            f"{g['alone_glmm_lo']:.1%} to {g['alone_glmm_hi']:.1%}); with an ICI plus a TKI {g['combo_events']} of "
            f"{g['combo_n']} ({g['combo_glmm']:.1%}, {g['combo_glmm_lo']:.1%} to {g['combo_glmm_hi']:.1%}). Under a "
            f"{PRIOR_LABELS[prior]} prior the posterior probability that the response rate to an ICI alone exceeds "
            f"10% is {g['alone_p10']:.3f}."),
        "report_tumours": Markdown(
            f"In {g['isg_n']} ISG/OS2 patients (NanoString PanCancer Immune panel; {g['isg_os_events']} deaths), "
            f"CD274 (PD-L1) mRNA {association} (HR {g['cd274_os_hr']:.2f} per SD, 95% CI {g['cd274_os_lo']:.2f} "
            f"to {g['cd274_os_hi']:.2f}; Cox model, Efron ties); {g['isg_n_sig']} of {2 * g['isg_n_features']} "
            f"Cox models of checkpoint genes and immune scores (overall and event-free survival) had a "
            f"Benjamini–Hochberg q below {alpha:g}. In {g['cib_used']} tumours with CIBERSORT fractions computed by "
            f"the data's authors, the hazard ratio per SD, adjusted for cohort, was {g['cib_cd8_hr']:.2f} for CD8 T "
            f"cells (95% CI {g['cib_cd8_lo']:.2f} to {g['cib_cd8_hi']:.2f}) and {g['cib_m2_hr']:.2f} for M2 macrophages "
            f"({g['cib_m2_lo']:.2f} to {g['cib_m2_hi']:.2f})."),
    }


EXCLUSION_SENTENCES = {
    "Evidence against": "Tumours with more CAF transcripts carry more, not fewer, T-cell transcripts, and some pairs stay "
                        "positive after adjustment for non-tumour content (ESTIMATE): the review's "
                        "immune exclusion is not visible in bulk expression",
    "Supported": "Tumours with more CAF transcripts carry fewer T-cell transcripts, as immune exclusion predicts",
    "Mixed": "CAF and T-cell transcripts correlate in both directions",
    "Inconclusive": "CAF and T-cell transcripts show no correlation at the chosen FDR",
    "Not interpretable without purity adjustment": "CAF and T-cell transcripts correlate, but only as far as both "
                                                   "track how much non-tumour tissue a biopsy holds",
}


def _conclusions(g: dict[str, Any], alpha: float) -> dict[str, Markdown]:
    """Takeaways and summary sentences whose conclusions follow from the results by stated rules."""
    alone = (f"{g['alone_events']} of {g['alone_n']} patients responded to a checkpoint inhibitor alone in "
             f"{g['alone_k']} osteosarcoma-specific results, a pooled rate of {g['alone_glmm']:.1%} (95% CI "
             f"{g['alone_glmm_lo']:.1%} to {g['alone_glmm_hi']:.1%}); the posterior probability of a true rate "
             f"above 10% is {g['alone_p10']:.3f}, so such a rate is "
             + ("all but excluded." if g["alone_p10"] < alpha else "not excluded."))
    more = g["sub_p"] < alpha and g["sub_or"] > 1
    combo = (f"Arms that add a TKI {'respond more often' if more else 'do not respond differently'} "
             f"({g['combo_events']} of {g['combo_n']}, {g['combo_glmm']:.1%}; test against the checkpoint "
             f"inhibitor alone p = {format_p(g['sub_p'])}). {g['apatinib_verdict']}")
    tumours = (f"In {g['isg_n']} ISG/OS2 tumours, {g['isg_n_sig']} of {g['isg_n_models']} Cox models of "
               f"checkpoint genes and T-cell scores reach FDR {alpha:g}; CD274 (PD-L1) mRNA gives HR "
               f"{g['cd274_os_hr']:.2f} per SD for overall survival (95% CI {g['cd274_os_lo']:.2f} to "
               f"{g['cd274_os_hi']:.2f}), whereas {g['anchor_hr_k']} meta-analyses of PD-L1 protein (osteosarcoma "
               f"or sarcoma) report overall-survival HRs from {g['anchor_hr_min']:.2f} to {g['anchor_hr_max']:.2f}.")
    caf = (EXCLUSION_SENTENCES[str(g["caf_verdict"]).split(":")[0]]
           + f" ({g['caf_n_positive']} positive, {g['caf_n_negative']} negative correlations among "
             f"{g['caf_n_pairs']} pairs at FDR {alpha:g}).")
    survival_text = ("No checkpoint gene or T-cell score predicts survival at the chosen FDR in ISG/OS2 or GSE21257. "
                     if g["isg_n_sig"] == 0 and g["gse_n_sig"] == 0 else
                     f"{g['isg_n_sig']} ISG/OS2 and {g['gse_n_sig']} GSE21257 models reach the chosen FDR. ")
    summary = f"{alone} {combo} {survival_text}{caf} Bulk data cannot test the spatial form of the exclusion claim."
    return {"takeaway_alone": Markdown(alone), "takeaway_combo": Markdown(combo), "takeaway_tumours": Markdown(tumours),
            "takeaway_caf": Markdown(caf), "summary_text": Markdown(summary)}


@dataclass(frozen=True)
class Ici:
    trial: TrialResponses
    isg: IsgTumours
    cibersort: CibersortFractions
    replication: Replication
    link: CafLink
    claims: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(seed: int, include_unverified: bool, paediatric_rows: str, prior: str, bulk_score: str,
            marker_source: str, alpha: float, n_boot: int) -> Ici:
    """The whole chapter with its parameters."""
    validate("ici", locals())
    trial = trial_responses(include_unverified, paediatric_rows, prior, alpha)
    isg = isg_tumours(include_unverified, bulk_score, alpha)
    cib = cibersort_fractions(alpha)
    replication = gse21257_replication(include_unverified, bulk_score, alpha, isg.cox)
    link = caf_link(marker_source, include_unverified, bulk_score, alpha, n_boot, seed, isg, replication)
    claims = claims_table(trial, isg, cib, link, alpha, prior)
    glue = {**trial.glue, **isg.glue, **cib.glue, **replication.glue, **link.glue,
            **_reporting(trial, isg, cib, prior, alpha), "alpha": alpha}
    glue.update(_conclusions(glue, alpha))
    results = {"trials": trial.results, "isg": isg.results, "cibersort": cib.results,
               "gse21257": replication.results, "caf_link": link.results}
    return Ici(trial, isg, cib, replication, link, claims, glue, results)
