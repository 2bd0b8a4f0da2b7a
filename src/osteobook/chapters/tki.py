"""Chapter "Tyrosine kinase inhibitors in relapsed osteosarcoma": pooled response and landmark PFS.

The first half shapes the TKI arms of the curated trial tables for meta-analysis: one value per arm
and endpoint, with progression-free rates reported at different landmarks (16 weeks, 4 months,
18 weeks, ...) harmonised by an explicit, named rule. `analyse` then returns everything the page
shows: tables, the values glued into the text and the key results the tests read. The figures are
drawn by `osteobook.plots.forest` and `osteobook.plots.drugs` from these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import gdsc as gdsc_data
from ..datasets import trials
from ..datasets.registry import fetch
from ..engine.params import validate
from ..prose import Markdown, trial_name
from ..stats import benchmark as benchmark_tests
from ..stats import drug_response, landmarks
from ..stats.meta_analysis import (
    compare_methods,
    effect_sizes,
    leave_one_out,
    pool_log_hazard_ratios,
    pool_proportions,
    subgroup_analysis,
)
from ..stats.proportions import with_ci

SUBGROUPS = {"regimen": "TKI alone vs TKI combination", "tki_family": "multi-target VEGFR TKI vs other TKI"}


def tki_arms(evidence: pd.DataFrame) -> pd.DataFrame:
    """Rows of arms whose regimen contains a TKI, with a `regimen` column (alone / combination)."""
    arms = evidence.loc[evidence["drug_class"].str.contains("TKI")].copy()
    arms["regimen"] = np.where(arms["drug_class"] == "TKI", "TKI alone", "TKI combination")
    return arms


def response_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """Objective responses (events/n) of the TKI arms, one row per arm, with exact 95% CIs."""
    rows = tki_arms(evidence)
    rows = rows.loc[(rows["endpoint"] == "orr") & rows["events"].notna() & rows["n"].notna()]
    return _finish(rows.assign(count_source="reported count"))


def landmark_table(evidence: pd.DataFrame, rule: str = "16-18 weeks",
                   prefer: str = "kaplan-meier") -> pd.DataFrame:
    """One progression-free rate per TKI arm under a landmark rule (`stats.landmarks.harmonise`)."""
    return _finish(landmarks.harmonise(tki_arms(evidence), rule, prefer))


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    """Integer counts, a readable label, exact CIs, in a stable order."""
    rows = rows.assign(events=rows["events"].astype(int), n=rows["n"].astype(int), label=short_labels(rows))
    return with_ci(rows.sort_values(["regimen", "trial_label"]).reset_index(drop=True))


def short_labels(rows: pd.DataFrame) -> pd.Series:
    """'Grignani 2015: sorafenib + everolimus', 'OLIE: lenvatinib + IE' (trial name, then the arm's agents)."""
    trial = rows["trial_label"].str.extract(r"^(\S+(?: \d{4})?)", expand=False)
    arm = (rows["arm_label"].str.replace("ifosfamide + etoposide", "IE", regex=False)
           .str.replace(r"\s*\(.*\)$", "", regex=True))
    return trial + ": " + arm


def add_weights(table: pd.DataFrame, transform: str, tau2: float) -> pd.DataFrame:
    """Random-effects weights (percent) of each row: 1/(v_i + tau²), normalised."""
    _, vi = effect_sizes(table["events"], table["n"], transform)
    w = 1 / (vi + tau2)
    return table.assign(weight=100 * w / w.sum())


def harmonisation_grid(evidence: pd.DataFrame, benchmark: pd.Series, regimen: str | None = None,
                       **options) -> pd.DataFrame:
    """Pooled landmark rate and its comparison with `benchmark` under every harmonisation rule.

    `regimen` restricts to 'TKI alone' or 'TKI combination'; `options` go to `pool_proportions`.
    """
    rows = []
    for rule in landmarks.LANDMARK_RULES:
        for prefer in landmarks.ESTIMATOR_PREFERENCES:
            table = landmark_table(evidence, rule, prefer)
            if regimen is not None:
                table = table.loc[table["regimen"] == regimen]
            fit = pool_proportions(table["events"], table["n"], **options)
            rows.append({"rule": rule, "prefer": prefer, "arms": len(table), "patients": int(table["n"].sum()),
                         **fit, **benchmark_tests.pooled_versus(fit, benchmark, options.get("transform", "logit"))})
    return pd.DataFrame(rows)


def hazard_ratios(evidence: pd.DataFrame) -> pd.DataFrame:
    """Hazard ratios reported for randomised TKI arms (PFS and OS), with whether a CI is available."""
    rows = tki_arms(evidence)
    rows = rows.loc[rows["endpoint"].isin(["hr_pfs", "hr_os"])].copy()
    rows["has_ci"] = rows["ci_low"].notna() & rows["ci_high"].notna()
    return rows.sort_values(["endpoint", "trial_label"]).reset_index(drop=True)


def pool_hazard_ratios(hrs: pd.DataFrame) -> dict[str, dict]:
    """Common-effect pooled HR per endpoint where at least two trials report an HR with its CI."""
    pooled = {}
    for endpoint, part in hrs.loc[hrs["has_ci"]].groupby("endpoint"):
        if len(part) >= 2:
            pooled[endpoint] = pool_log_hazard_ratios(part["estimate"], part["ci_low"], part["ci_high"],
                                                      float(part["ci_level"].fillna(0.95).iloc[0]))
    return pooled


TRANSFORM_LABELS = {"logit": "logit", "freeman-tukey": "Freeman–Tukey double arcsine"}
ENDPOINT_LABELS = {"orr": "objective response", "pfs_landmark": "progression-free at about 4 months"}
BACK_TRANSFORMED = {"proportion": "p", "proportion_ci_low": "lo", "proportion_ci_high": "hi",
                    "proportion_pi_low": "pi_lo", "proportion_pi_high": "pi_hi"}
OUTLIER_ARM = "XIE2019_APATINIB"  # the apatinib arm behind most of the response heterogeneity
MIN_OSTEOSARCOMA_LINES = 3  # GDSC2 drugs screened on fewer osteosarcoma lines are left out
GRID_VERDICT = {
    True: "Under every choice the lower CI bound of the pooled rate lies above the benchmark's upper CI bound: the "
          "conclusion does not hinge on the landmark.",
    False: "Under some choices the pooled CI overlaps the benchmark's CI: the conclusion depends on the landmark rule.",
}


@dataclass(frozen=True)
class TkiAnalysis:
    """The chapter's numbers: pooled TKI arms, robustness checks, benchmark, randomised trials, GDSC2 screen."""

    evidence: pd.DataFrame  # the curated trial values the chapter reads
    tables: dict[str, pd.DataFrame]  # "orr", "pfs_landmark": the pooled arms, with random-effects weights
    fits: dict[str, dict[str, Any]]
    methods: dict[str, pd.DataFrame]
    subgroup: str
    leave_one_out: pd.DataFrame
    subgroups: pd.DataFrame
    between: dict[str, float]
    benchmark: pd.Series
    grid: pd.DataFrame
    hazard_ratios: pd.DataFrame
    pooled_hr: dict[str, dict[str, Any]]
    response: pd.DataFrame  # GDSC2 ln(IC50 / µM), cell lines x drugs
    osteosarcoma: frozenset[int]
    gdsc: pd.DataFrame
    claims: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(*, endpoint: str, transform: str, tau2_method: str, hartung_knapp: bool, landmark_rule: str,
            landmark_estimator: str, benchmark: str, subgroup: str, include_unverified: bool) -> TkiAnalysis:
    """Pool the TKI arms' response and landmark PFS, check the pooling, compare with `benchmark`,
    pool the randomised trials' hazard ratios and compare osteosarcoma lines in GDSC2.

    `endpoint` and `subgroup` choose the leave-one-out and subgroup analyses.
    """
    validate("tki", locals())
    bench = trials.load_benchmarks().set_index("benchmark_id").loc[benchmark]
    options = {"transform": transform, "method": tau2_method, "knha": hartung_knapp}
    evidence = trials.evidence(include_unverified=include_unverified)
    tables = {"orr": response_table(evidence),
              "pfs_landmark": landmark_table(evidence, landmark_rule, landmark_estimator)}
    fits = {name: pool_proportions(table["events"], table["n"], **options) for name, table in tables.items()}
    tables = {name: add_weights(table, transform, fits[name]["tau2"]) for name, table in tables.items()}
    methods = {name: compare_methods(table["events"], table["n"]) for name, table in tables.items()}
    loo = leave_one_out(tables[endpoint], **options)
    groups, between = subgroup_analysis(tables[endpoint], subgroup, **options)
    grid = harmonisation_grid(evidence, bench, regimen="TKI alone", **options)
    chosen = grid.loc[(grid["rule"] == landmark_rule) & (grid["prefer"] == landmark_estimator)].iloc[0]
    hrs = hazard_ratios(evidence)
    pooled_hr = pool_hazard_ratios(hrs)
    response = gdsc_data.load_response(fetch("lqz_autophagy/GDSC2_Res.rds"))
    lines = gdsc_data.load_lines()
    osteosarcoma = frozenset(lines.loc[lines["osteosarcoma"], "cosmic_id"])
    gdsc = drug_response.compare_drugs(response, list(gdsc_data.VEGFR_TKIS), osteosarcoma, MIN_OSTEOSARCOMA_LINES)

    orr = tables["orr"]
    without_outlier = orr.loc[orr["arm_id"] != OUTLIER_ARM]
    without_outlier_fit = pool_proportions(without_outlier["events"], without_outlier["n"], **options)
    other_single_agents = without_outlier.loc[without_outlier["regimen"] == "TKI alone", "proportion"]
    by_outcome = evidence.set_index("outcome_id")
    hr_pfs = pooled_hr["hr_pfs"]
    values = response.to_numpy()[np.isfinite(response.to_numpy())]
    median_percentiles = [float(drug_response.percentiles(response[drug], osteosarcoma).median())
                          for drug in gdsc["drug"]]
    glue = {
        "transform_label": TRANSFORM_LABELS[transform],
        "method_label": f"{tau2_method}{', Hartung–Knapp' if hartung_knapp else ''}",
        "include_unverified": include_unverified, "landmark_rule": landmark_rule,
        "landmark_estimator": landmark_estimator,
        **_pooled_glue("orr", tables["orr"], fits["orr"]),
        **_pooled_glue("pfs", tables["pfs_landmark"], fits["pfs_landmark"]),
        "xie_orr": float(orr.set_index("arm_id").at[OUTLIER_ARM, "proportion"]),
        "orr_i2_without_xie": without_outlier_fit["i2"], "orr_p_without_xie": without_outlier_fit["proportion"],
        "orr_others_min": float(other_single_agents.min()), "orr_others_max": float(other_single_agents.max()),
        "olie_control_pfs": float(by_outcome.at["OLIE_IE_PFS4", "estimate"]),
        "orr_methods_min": float(methods["orr"]["proportion"].min()),
        "orr_methods_max": float(methods["orr"]["proportion"].max()),
        "pfs_methods_min": float(methods["pfs_landmark"]["proportion"].min()),
        "pfs_methods_max": float(methods["pfs_landmark"]["proportion"].max()),
        # the GLMM is the last row of `compare_methods`
        "orr_glmm": float(methods["orr"]["proportion"].iloc[-1]),
        "pfs_glmm": float(methods["pfs_landmark"]["proportion"].iloc[-1]),
        "endpoint_label": ENDPOINT_LABELS[endpoint],
        "loo_min": float(loo["proportion"].min()), "loo_max": float(loo["proportion"].max()),
        "loo_most": loo.loc[loo["proportion"].sub(fits[endpoint]["proportion"]).abs().idxmax(), "left_out"],
        "subgroup_label": SUBGROUPS[subgroup],
        "subgroup_text": Markdown(_subgroup_text(groups, between, subgroup)),
        "bench_p": float(bench["estimate"]), "bench_lo": float(bench["ci_low"]), "bench_hi": float(bench["ci_high"]),
        "bench_n": int(bench["n"]),
        "weeks16_months": 16 / trials.WEEKS_PER_MONTH, "weeks18_months": 18 / trials.WEEKS_PER_MONTH,
        "sarc024_placebo": float(by_outcome.at["S24_PBO_PFS16W", "estimate"]),
        **{f"alone_pfs_{short}": float(chosen[key]) for key, short in BACK_TRANSFORMED.items()},
        "alone_pfs_k": int(chosen["arms"]),
        "grid_min_pts": 100 * float(grid["difference"].min()), "grid_max_pts": 100 * float(grid["difference"].max()),
        "grid_verdict": Markdown(GRID_VERDICT[bool(grid["ci_low_above_benchmark_ci"].all())]),
        "grid_max_p": float(grid["p"].max()),
        "n_randomised": int(tki_arms(evidence).query("randomised")["trial_id"].nunique()),
        "hr_pooled": hr_pfs["hr"], "hr_lo": hr_pfs["hr_ci_low"], "hr_hi": hr_pfs["hr_ci_high"], "hr_p": hr_pfs["p"],
        "hr_i2": hr_pfs["i2"], "hr_q_p": hr_pfs["q_p"], "hr_k": hr_pfs["k"],
        "os_text": Markdown(_overall_survival_text(hrs, pooled_hr)),
        "regobone_reg": f"{by_outcome.at['RB_REG_PFS8W', 'events']}/{by_outcome.at['RB_REG_PFS8W', 'n']}",
        "regobone_pbo": f"{by_outcome.at['RB_PBO_PFS8W', 'events']}/{by_outcome.at['RB_PBO_PFS8W', 'n']}",
        "gdsc_lines": response.shape[0], "gdsc_drugs": response.shape[1],
        "gdsc_min": float(values.min()), "gdsc_max": float(values.max()),
        "gdsc_min_um": float(np.exp(values.min())), "gdsc_max_um": float(np.exp(values.max())),
        "gdsc_os_lines": len(osteosarcoma),
        **{name: Markdown(text) for name, text in _gdsc_texts(response, osteosarcoma).items()},
        "gdsc_min_p": float(gdsc["p_holm"].min()),
        "gdsc_pct_min": min(median_percentiles), "gdsc_pct_max": max(median_percentiles),
        "gdsc_prob_min": float(gdsc["prob_group_higher"].min()),
        "gdsc_prob_max": float(gdsc["prob_group_higher"].max()),
        **{name: Markdown(text) for name, text in _reporting_sentences(
            tables, fits, chosen, bench, hr_pfs, transform, tau2_method, hartung_knapp, landmark_rule,
            landmark_estimator).items()},
        "orr_one_in": round(1 / fits["orr"]["proportion"]),
        "bench_ratio": float(chosen["proportion"] / bench["estimate"]),
    }
    hr_columns = ["arm_id", "endpoint", "estimate", "ci_low", "ci_high"]
    results = {
        "inputs": {name: {"arm_id": list(table["arm_id"]), "events": [int(v) for v in table["events"]],
                          "n": [int(v) for v in table["n"]], "regimen": list(table["regimen"])}
                   for name, table in tables.items()},
        "pooled": {name: {key: value for key, value in fit.items() if not isinstance(value, str)}
                   for name, fit in fits.items()},
        "methods": {name: frame.to_dict(orient="records") for name, frame in methods.items()},
        "leave_one_out": loo.to_dict(orient="records"),
        "subgroups": {"fits": groups.to_dict(orient="records"), **between},
        "benchmark": {"id": benchmark, "estimate": float(bench["estimate"]), "events": int(bench["events"]),
                      "n": int(bench["n"]), "grid": grid.to_dict(orient="records")},
        "tki_alone_pfs": {key: chosen[key] for key in ("arms", "proportion", "proportion_ci_low",
                                                       "proportion_ci_high", "difference", "p")},
        "hazard_ratios": {"pooled": pooled_hr,
                          "listed": hrs[hr_columns].astype(object).where(hrs[hr_columns].notna())
                          .to_dict(orient="records")},
        "gdsc": {"osteosarcoma_lines": sorted(osteosarcoma), "drugs": gdsc.to_dict(orient="records"),
                 "value_range": [float(values.min()), float(values.max())]},
    }
    claims = _claims(evidence, orr, fits, chosen, bench, hr_pfs, options)
    return TkiAnalysis(evidence, tables, fits, methods, subgroup, loo, groups, between, bench, grid, hrs, pooled_hr,
                       response, osteosarcoma, gdsc, claims, glue, results)


def _pooled_glue(prefix: str, table: pd.DataFrame, fit: dict[str, Any]) -> dict[str, Any]:
    """`<prefix>_k`, `<prefix>_patients`, `<prefix>_p`, `<prefix>_lo`, ... of one endpoint's pooled fit."""
    return {f"{prefix}_k": fit["k"], f"{prefix}_patients": int(table["n"].sum()),
            f"{prefix}_events": int(table["events"].sum()),
            **{f"{prefix}_{short}": fit[key] for key, short in BACK_TRANSFORMED.items()},
            f"{prefix}_i2": fit["i2"], f"{prefix}_tau2": fit["tau2"], f"{prefix}_q_p": fit["q_p"]}


def _format_p(p: float) -> str:
    """p-values for prose and tables: 0.0123, or 1.2e-05 when small."""
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def _subgroup_text(groups: pd.DataFrame, between: dict[str, float], subgroup: str) -> str:
    if len(groups) > 1:
        return (f"The test for a difference between the subgroups gives Q = {between['q_between']:.2f} on "
                f"{between['df']} degree{'s' if between['df'] > 1 else ''} of freedom, "
                f"p = {_format_p(between['p_between'])}.")
    return f"Every arm falls into one subgroup ({groups[subgroup].iloc[0]}), so there is nothing to compare."


def _overall_survival_text(hrs: pd.DataFrame, pooled_hr: dict[str, dict[str, Any]]) -> str:
    """Each trial's OS hazard ratio, and why they are (not) pooled."""
    os_rows = hrs.loc[hrs["endpoint"] == "hr_os"]
    listed = "; ".join(f"{trial_name(row.trial_label)} {row.estimate:.2f}"
                       + (f" (95% CI {row.ci_low:.2f} to {row.ci_high:.2f})" if row.has_ci else " (no CI reported)")
                       for row in os_rows.itertuples())
    direction = (". None favours the TKI, and crossover to regorafenib after progression on placebo (SARC024) "
                 "blurs them. " if (os_rows["estimate"] >= 1).all() else ". ")
    if "hr_os" in pooled_hr:
        fit = pooled_hr["hr_os"]
        pooling = f"Pooled: HR {fit['hr']:.2f} (95% CI {fit['hr_ci_low']:.2f} to {fit['hr_ci_high']:.2f})."
    else:
        pooling = (f"{'Only one reports' if os_rows['has_ci'].sum() == 1 else 'None reports'} a confidence "
                   "interval, so they are not pooled.")
    return "Overall-survival hazard ratios: " + listed + direction + pooling


def _gdsc_texts(response: pd.DataFrame, osteosarcoma: frozenset[int]) -> dict[str, str]:
    """The VEGFR-TKI panel with targets, and the drugs left out for too few osteosarcoma lines."""
    panel = ", ".join(f"{drug_response.drug_label(drug).split(' (')[0].lower()} (targets: {targets})"
                      for drug, targets in gdsc_data.VEGFR_TKIS.items())
    counts = drug_response.screened(response, list(gdsc_data.VEGFR_TKIS), osteosarcoma)
    skipped = " ".join(f"{r.label.split(' (')[0]} was screened on only {r.n_lines} lines, {r.n_group} of them "
                       "osteosarcoma, and is left out."
                       for r in counts.loc[counts["n_group"] < MIN_OSTEOSARCOMA_LINES].itertuples())
    return {"gdsc_drug_list": panel, "gdsc_skipped": skipped}


def _interval(fit: dict[str, Any] | pd.Series, low: str = "proportion_ci_low", high: str = "proportion_ci_high") -> str:
    """'7.1% to 20.3%'."""
    return f"{fit[low]:.1%} to {fit[high]:.1%}"


def _reporting_sentences(tables: dict[str, pd.DataFrame], fits: dict[str, dict[str, Any]], chosen: pd.Series,
                         bench: pd.Series, hr_pfs: dict[str, Any], transform: str, tau2_method: str,
                         hartung_knapp: bool, landmark_rule: str, landmark_estimator: str) -> dict[str, str]:
    """The reporting box's ready-to-adapt sentences."""
    orr, pfs = fits["orr"], fits["pfs_landmark"]
    method_text = (f"random-effects meta-analysis, {TRANSFORM_LABELS[transform]} transformation, τ² by "
                   f"{tau2_method}{', Hartung–Knapp CI' if hartung_knapp else ''}")
    prediction = ("proportion_pi_low", "proportion_pi_high")
    return {
        "report_orr": (f"Across {orr['k']} trial arms of TKIs in relapsed or metastatic osteosarcoma "
                       f"({int(tables['orr']['n'].sum())} patients), the pooled objective response rate was "
                       f"{orr['proportion']:.1%} (95% CI {_interval(orr)}; I² = {orr['i2']:.0f}%; 95% prediction "
                       f"interval {_interval(orr, *prediction)}; {method_text})."),
        "report_pfs": (f"Pooled over {pfs['k']} TKI arms, {pfs['proportion']:.1%} of patients were progression-free "
                       f"at about 4 months (95% CI {_interval(pfs)}; I² = {pfs['i2']:.0f}%; 95% prediction interval "
                       f"{_interval(pfs, *prediction)}); with a TKI alone ({int(chosen['arms'])} arms) it was "
                       f"{chosen['proportion']:.1%} (95% CI {_interval(chosen)}), compared with "
                       f"{bench['estimate']:.0%} ({bench['ci_low']:.0%} to {bench['ci_high']:.0%}) in a historical "
                       f"benchmark of inactive drugs (landmarks {landmark_rule}, {landmark_estimator} estimates "
                       "preferred)."),
        "report_hr": (f"In the {hr_pfs['k']} randomised trials that report a PFS hazard ratio, adding a VEGFR TKI "
                      f"reduced the hazard of progression (pooled HR {hr_pfs['hr']:.2f}, 95% CI "
                      f"{hr_pfs['hr_ci_low']:.2f} to {hr_pfs['hr_ci_high']:.2f}; common-effect inverse-variance "
                      f"pooling of log HRs; I² = {hr_pfs['i2']:.0f}%); no trial showed longer overall survival."),
    }


def _claims(evidence: pd.DataFrame, orr: pd.DataFrame, fits: dict[str, dict[str, Any]], chosen: pd.Series,
            bench: pd.Series, hr_pfs: dict[str, Any], options: dict[str, Any]) -> pd.DataFrame:
    """The review's statements about TKIs against this chapter's findings, indexed by statement."""
    arms = tki_arms(evidence)
    medians = arms.loc[arms["endpoint"] == "median_pfs", "estimate"]
    partners = orr.loc[orr["drug_class"].isin(["TKI + mTOR inhibitor", "TKI + ICI", "ICI + TKI"])]
    alone = orr.loc[orr["regimen"] == "TKI alone"]
    alone_orr = pool_proportions(alone["events"], alone["n"], **options)
    partner_text = ", ".join(f"{row.label.split(': ')[1]} {row.proportion:.0%}" for row in partners.itertuples())
    return pd.DataFrame([
        {"Review statement": "Recent clinical studies have explored tyrosine kinase inhibitors (e.g., sorafenib, "
                             "regorafenib) ... angiogenesis modulators (e.g., apatinib)",
         "Evidence in this chapter": f"{arms['arm_id'].nunique()} TKI arms in {arms['trial_id'].nunique()} trials "
                                     "in the curated tables, including sorafenib, regorafenib (two "
                                     "placebo-controlled) and apatinib, which is itself a VEGFR2 TKI",
         "Verdict": "Supported"},
        {"Review statement": "some agents achieve transient disease stabilization or partial responses",
         "Evidence in this chapter": f"pooled objective response {fits['orr']['proportion']:.0%}; "
                                     f"{chosen['proportion']:.0%} progression-free at about 4 months on a TKI alone "
                                     f"vs {bench['estimate']:.0%} benchmark; median PFS "
                                     f"{medians.min():.1f}–{medians.max():.1f} months; PFS HR {hr_pfs['hr']:.2f} in "
                                     "randomised trials",
         "Verdict": "Supported, and quantified: stabilisation is common, response uncommon, benefit lasts months"},
        {"Review statement": "their overall efficacy is constrained by tumor heterogeneity, rapid resistance",
         "Evidence in this chapter": "median PFS of a few months and no overall-survival benefit in randomised "
                                     "trials; the trials do not test why; GDSC2 osteosarcoma lines are not "
                                     "unusually sensitive",
         "Verdict": "Consistent with the outcomes; the mechanism is not tested by these data"},
        {"Review statement": "combination regimens—such as VEGF and mTOR inhibition or TKI with immunotherapy—have "
                             "shown promise in ... early clinical trials",
         "Evidence in this chapter": f"single-arm phase II only; objective response {partner_text}, against "
                                     f"{alone_orr['proportion']:.0%} pooled for TKIs alone; the one randomised "
                                     "add-on trial (OLIE, with chemotherapy) missed its primary endpoint",
         "Verdict": "Partly supported: no randomised comparison with a TKI alone"},
        {"Review statement": "treatment-related toxicities remain critical barriers",
         "Evidence in this chapter": "toxicity is not in the curated tables and was not pooled here",
         "Verdict": "Not assessed"},
    ]).set_index("Review statement")


def benchmark_band(result: TkiAnalysis) -> tuple[float, float, float, str]:
    """The benchmark as a forest plot's shaded band: estimate, CI bounds and legend label."""
    bench = result.benchmark
    label = (f"{bench['label'].split(':')[0]} benchmark, {bench['estimate']:.0%} "
             f"({bench['ci_low']:.0%}–{bench['ci_high']:.0%})")
    return bench["estimate"], bench["ci_low"], bench["ci_high"], label


def arm_table(result: TkiAnalysis) -> pd.DataFrame:
    """Every pooled arm for readers: events / n, landmark, estimator, where the count comes from, status."""
    listing = pd.concat([result.tables["orr"].assign(landmark_label="best response", endpoint="ORR"),
                         result.tables["pfs_landmark"].assign(endpoint="PFS")])
    return pd.DataFrame({
        "Endpoint": listing["endpoint"], "Trial arm": listing["label"],
        "Events / n": listing["events"].astype(str) + " / " + listing["n"].astype(str),
        "Landmark": listing["landmark_label"].str.replace(r"\s*\(.*\)$", "", regex=True),
        "Estimator": listing["estimator"].replace({"binomial (missing = failure)": "binomial",
                                                   "reported": "not named"}),
        "Count": listing["count_source"].map({"reported count": "reported", "estimate × n": "rate × n"}),
        "Status": listing["status"],
    }).set_index(["Endpoint", "Trial arm"])


def _percent_interval(row: pd.Series, low: str, high: str) -> str:
    """'12.3–20.1' from two proportion columns."""
    return f"{100 * row[low]:.1f}–{100 * row[high]:.1f}"


def _pooled_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Pooled %, 95% CI, 95% PI and I² columns of a table of pooled fits."""
    return {"Pooled %": (100 * frame["proportion"]).round(1),
            "95% CI": frame.apply(_percent_interval, axis=1, args=("proportion_ci_low", "proportion_ci_high")),
            "95% PI": frame.apply(_percent_interval, axis=1, args=("proportion_pi_low", "proportion_pi_high")),
            "I² %": frame["i2"].round(1)}


def method_table(result: TkiAnalysis) -> pd.DataFrame:
    """Both endpoints pooled every way `compare_methods` implements, for readers."""
    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        scale = frame["transform"].map({"logit": "logit", "freeman-tukey": "FT"})
        tau2 = frame["method"].str.replace("ML (GLMM)", "GLMM (ML)", regex=False)
        knha = frame["test"].map({"z": "", "knha": ", HK"})
        return pd.DataFrame({"Method": scale + ", " + tau2 + knha, **_pooled_columns(frame),
                             "τ²": frame["tau2"].round(4)}).set_index("Method")

    return pd.concat({"ORR": rows(result.methods["orr"]), "Landmark PFS": rows(result.methods["pfs_landmark"])})


def leave_one_out_table(result: TkiAnalysis) -> pd.DataFrame:
    loo = result.leave_one_out
    return pd.DataFrame({"Arm left out": loo["left_out"], **_pooled_columns(loo)}).set_index("Arm left out")


def subgroup_table(result: TkiAnalysis) -> pd.DataFrame:
    groups = result.subgroups
    return pd.DataFrame({"Subgroup": groups[result.subgroup], "Arms": groups["k"],
                         **_pooled_columns(groups)}).set_index("Subgroup")


def grid_table(result: TkiAnalysis) -> pd.DataFrame:
    """The TKI-alone landmark rate against the benchmark under every harmonisation choice."""
    grid = result.grid
    return pd.DataFrame({"Landmark rule": grid["rule"], "Preferred": grid["prefer"].replace({"kaplan-meier": "KM"}),
                         "Arms": grid["arms"], "n": grid["patients"], **_pooled_columns(grid),
                         "Excess (points)": (100 * grid["difference"]).round(1),
                         "p": grid["p"].map(_format_p)}).set_index(["Landmark rule", "Preferred"])


def hazard_ratio_table(result: TkiAnalysis) -> pd.DataFrame:
    """Each randomised trial's hazard ratios and the pooled PFS hazard ratio."""
    hrs, fit = result.hazard_ratios, result.pooled_hr["hr_pfs"]
    arm_labels = result.evidence.drop_duplicates("arm_id").set_index("arm_id")["arm_label"]
    listing = pd.DataFrame({
        "Trial": hrs["trial_label"].str.extract(r"^(\S+)", expand=False),
        "Endpoint": hrs["endpoint"].map({"hr_pfs": "PFS", "hr_os": "OS"}),
        "HR": hrs["estimate"],
        "CI": [f"{lo:.2f}–{hi:.2f}" if ok else "not reported"
               for lo, hi, ok in zip(hrs["ci_low"], hrs["ci_high"], hrs["has_ci"], strict=True)],
        "Comparison": (hrs["arm_label"] + " vs " + hrs["comparator_arm_id"].map(arm_labels)).str.replace(
            "ifosfamide + etoposide", "IE", regex=False),
    })
    pooled = pd.DataFrame([{"Trial": f"Pooled ({fit['k']} trials, common effect)", "Endpoint": "PFS",
                            "HR": round(fit["hr"], 2), "CI": f"{fit['hr_ci_low']:.2f}–{fit['hr_ci_high']:.2f}",
                            "Comparison": "TKI added vs not added"}])
    return pd.concat([listing, pooled]).set_index(["Endpoint", "Trial"])


def gdsc_table(result: TkiAnalysis) -> pd.DataFrame:
    """The rank comparison of osteosarcoma lines with all other lines, one row per drug."""
    gdsc = result.gdsc
    return pd.DataFrame({
        "Drug": gdsc["label"].str.replace("GDSC ", "", regex=False),
        "Lines (OS / other)": gdsc["n_group"].astype(str) + " / " + gdsc["n_other"].astype(str),
        "Median (OS)": gdsc["median_group"].round(2), "Median (other)": gdsc["median_other"].round(2),
        "P(OS higher)": gdsc["prob_group_higher"].round(2), "HL shift": gdsc["hodges_lehmann"].round(2),
        "p": gdsc["p"].round(3), "p (Holm)": gdsc["p_holm"].round(3),
    }).set_index("Drug")
