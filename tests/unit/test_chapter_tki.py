"""osteobook.chapters.tki: `analyse` gives the notebook every glued value, the results file and the tables."""
from __future__ import annotations

import html
import math
import re
import subprocess
import sys
import warnings

import pytest

from osteobook.chapters import certainty, tki
from osteobook.engine.params import load_chapter
from osteobook.errors import ParameterError
from osteobook.paths import NOTEBOOKS
from tests.conftest import check_glue_contract

NOTEBOOK = (NOTEBOOKS / "tki.md").read_text()


def defaults(**overrides) -> dict:
    """The chapter's declared defaults (minus the seed, which only jitters a figure), with overrides."""
    parameters = {**load_chapter("tki").defaults(), **overrides}
    parameters.pop("seed")
    return parameters


@pytest.fixture(scope="module")
def result() -> tki.TkiAnalysis:
    return tki.analyse(**defaults())


def test_every_glue_name_in_the_notebook_is_provided(result):
    check_glue_contract(NOTEBOOK, {**result.glue, **certainty.sof_glue("tki")})


def test_results_hold_no_parameters(result):
    """The runner writes the resolved parameters itself."""
    assert set(result.results) == {"inputs", "pooled", "methods", "leave_one_out", "subgroups", "benchmark",
                                   "tki_alone_pfs", "hazard_ratios", "sensitivity", "gdsc", "arm_sensitivity",
                                   "regimen_pools", "targets", "toxicity_ids"}


def test_glued_counts_match_the_pooled_inputs(result):
    orr = result.results["inputs"]["orr"]
    assert result.glue["orr_k"] == len(orr["arm_id"]) == 10
    assert result.glue["orr_patients"] == sum(orr["n"])
    assert result.glue["orr_events"] == sum(orr["events"])  # every response is a reported count
    assert result.glue["alone_pfs_k"] == result.results["tki_alone_pfs"]["arms"] == 4


def test_numbers_by_hand(result):
    assert result.glue["xie_orr"] == pytest.approx(16 / 37)  # XIE19_ORR: 16 of 37 responded
    assert result.glue["weeks16_months"] == pytest.approx(16 * 12 / 52.1775)
    assert result.glue["bench_ratio"] == pytest.approx(result.glue["alone_pfs_p"] / 0.12)
    assert result.glue["orr_one_in"] == round(1 / result.glue["orr_p"])
    # SARC024 HR 0.42 (0.21–0.85) and OLIE 0.54 (0.27–1.08), inverse-variance pooled on the log scale
    se = [(math.log(high) - math.log(low)) / (2 * 1.959963984540054) for low, high in [(0.21, 0.85), (0.27, 1.08)]]
    w = [1 / s**2 for s in se]
    log_hr = (w[0] * math.log(0.42) + w[1] * math.log(0.54)) / sum(w)
    assert result.glue["hr_pooled"] == pytest.approx(math.exp(log_hr), rel=1e-9)  # sensitivity figure only
    assert result.glue["regobone_reg"] == "17/26"


def test_reader_tables(result):
    arms = tki.arm_table(result).data
    assert len(arms) == sum(len(t) for t in result.tables.values())
    assert set(arms["Pooled as"]) == {"count", "rate with its CI", "rate × n"}
    assert len(tki.method_table(result)) == 2 * len(result.methods["orr"])
    assert len(tki.leave_one_out_table(result)) == result.glue["pfs_k"]
    assert len(tki.grid_table(result)) == len(result.grid) == 6
    hrs = tki.hazard_ratio_table(result).data
    assert not hrs["Trial"].str.startswith("Pooled").any()  # different contrasts: side by side, no pooled row
    assert set(hrs["Comparison"]) == {"regorafenib vs placebo", "lenvatinib + IE vs IE"}
    assert list(tki.gdsc_table(result).index) == [label.replace("GDSC ", "") for label in result.gdsc["label"]]
    assert result.claims.shape == (5, 2)
    assert tki.benchmark_band(result) == (0.12, 0.06, 0.19, "Lagmay 2016 benchmark, 12% (6%–19%)")
    assert len(tki.sensitivity_table(result)) == len(tki.SENSITIVITY_ROWS)


def _row_links(table_html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.DOTALL)[1:]


@pytest.mark.parametrize("table", ["arm_table", "hazard_ratio_table"])
def test_every_curated_value_links_to_its_source_and_quote(result, table):
    """Each row of a table of curated values carries a link to where the value was read (or the DOI/PMID) and
    its verbatim quote; pooled rows say they are computed."""
    styler = getattr(tki, table)(result)
    frame = styler.data
    rows = _row_links(styler.to_html())
    assert len(rows) == len(frame)
    for cell in frame["Source and quote"]:
        if cell == "computed here":
            continue
        assert re.search(r'<a href="https?://[^"]+"', cell) and "<details" in cell and "<blockquote>" in cell


def test_source_links_match_the_curated_rows(result):
    pooled = result.tables["orr"]
    html_text = tki.arm_table(result).to_html()
    for row in pooled.itertuples():
        first_url = row.source_url.split(" | ")[0].strip()
        assert html.escape(first_url, quote=True) in html_text, row.outcome_id
        assert html.escape(row.quote) in html_text, row.outcome_id
        if isinstance(row.doi, str):
            assert f"https://doi.org/{row.doi}" in html_text


def test_curation_notes_never_reach_the_tables():
    """`notes` columns and curation markers ('memory', 'not found', 'draft') stay in data/, even with unverified
    values included."""
    every = tki.analyse(**defaults(include_unverified=True))
    text = " ".join(styler.to_html() for styler in (tki.arm_table(every), tki.hazard_ratio_table(every)))
    for row in every.evidence.itertuples():
        for note in (row.notes, row.notes_arm):
            if isinstance(note, str) and len(note) > 40:
                assert note not in text
    assert not re.search(r"\bmemory\b|not found|NOT verified|\bdraft\b|no verbatim source text:", text)


def test_conclusions_are_generated_with_their_threshold(result):
    """SARC024's CI excludes 1, OLIE's does not: one trial shows longer PFS at 5%, and no sentence says two."""
    assert "1 of the 2 randomised trials" in result.glue["hr_takeaway"]
    assert "SARC024, regorafenib vs placebo, HR 0.42" in result.glue["hr_takeaway"]
    assert "OLIE, lenvatinib + IE vs IE, HR 0.54 (95% CI 0.27 to 1.08; p = 0.081) points the same way, but its CI " \
           "includes 1" in result.glue["hr_takeaway"]
    assert "two-sided 5% level" in result.glue["hr_summary"]
    assert "not significant at the two-sided 5% level" in result.glue["hr_text"]
    assert "not significantly" in result.glue["gdsc_takeaway"] and "p ≥ 0.05" in result.glue["gdsc_takeaway"]
    assert "confirm" not in NOTEBOOK.split("## Exercises")[0]


def test_hartung_knapp_on_a_two_arm_subgroup_warns_and_falls_back():
    """The TKI-combination subgroup has two landmark arms: Hartung–Knapp would shrink its SE from 0.28 to 0.07 and
    raise Q-between from 17.8 to 65.7. The fit keeps the normal interval and the page says so."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak to the notebook's stderr
        knha = tki.analyse(**defaults(hartung_knapp=True))
    plain = tki.analyse(**defaults())
    groups = knha.subgroups.set_index("regimen")
    assert groups.at["TKI combination", "knha_fallback"] and groups.at["TKI combination", "test"] == "z"
    assert groups.at["TKI alone", "test"] == "knha"
    assert groups.at["TKI combination", "se"] == pytest.approx(
        plain.subgroups.set_index("regimen").at["TKI combination", "se"], rel=1e-12)
    assert "Warning" in knha.glue["knha_note"] and "TKI combination" in knha.glue["knha_note"]
    assert plain.glue["knha_note"] == ""
    assert "not applied" in tki.subgroup_table(knha).loc["TKI combination", "CI"]


def test_verified_primary_sources_only():
    """The issue's figure: pooled over verified primary-source values only, ORR is 13.7% from 6 arms."""
    verified = tki.analyse(**defaults(sources="verified-primary"))
    assert verified.fits["orr"]["k"] == 6 and round(verified.fits["orr"]["proportion"], 3) == 0.137
    assert set(verified.evidence["status"]) == {"verified"} and set(verified.evidence["source_kind"]) == {"primary"}
    main = next(r for r in verified.sensitivity.itertuples() if r.main and r.parameter == "sources")
    assert main.value == "verified-primary"


def test_named_alternatives_change_only_their_part():
    base = tki.analyse(**defaults())
    metafor_pi = tki.analyse(**defaults(prediction_interval="metafor"))
    assert metafor_pi.fits["orr"]["proportion"] == base.fits["orr"]["proportion"]
    assert metafor_pi.fits["orr"]["proportion_pi_high"] < base.fits["orr"]["proportion_pi_high"]
    counts = tki.analyse(**defaults(landmark_variance="effective-count"))
    assert set(counts.tables["pfs_landmark"]["count_source"]) == {"estimate × n", "reported count"}
    assert counts.fits["orr"] == base.fits["orr"]
    across = tki.analyse(**defaults(hr_pooling="across-contrasts"))
    assert list(across.pooled_hr) == ["hr_pfs: all contrasts"]
    assert tki.hazard_ratio_table(across).data["Trial"].str.contains("sensitivity only").any()
    count_bench = tki.analyse(**defaults(benchmark_representation="count"))
    assert count_bench.results["tki_alone_pfs"]["difference"] == pytest.approx(
        base.results["tki_alone_pfs"]["proportion"] - 11 / 96)


def test_other_parameters_change_the_analysis(result):
    other = tki.analyse(**defaults(endpoint="orr", transform="freeman-tukey", tau2_method="DL",
                                   subgroup="tki_family"))
    assert other.glue["endpoint_label"] == "objective response"
    assert len(other.leave_one_out) == other.glue["orr_k"]
    assert other.glue["transform_label"] == "Freeman–Tukey double arcsine"
    assert other.results["inputs"] == result.results["inputs"]
    assert other.glue["orr_p"] != result.glue["orr_p"]
    assert "tki_family" in other.subgroups


@pytest.mark.parametrize("name, value", [("endpoint", "os"), ("transform", "probit"), ("subgroup", "drug"),
                                         ("benchmark", "NOPE"), ("landmark_rule", "3 months"),
                                         ("prediction_interval", "z"), ("landmark_variance", "km"),
                                         ("sources", "primary"), ("benchmark_representation", "events"),
                                         ("hr_pooling", "random")])
def test_unknown_choices_are_refused(name, value):
    with pytest.raises(ParameterError, match=name):
        tki.analyse(**defaults(**{name: value}))


def test_label_tables_cover_the_spec_choices():
    from osteobook.stats import benchmark, landmarks, meta_analysis
    spec = load_chapter("tki").parameters
    assert list(tki.TRANSFORM_LABELS) == spec["transform"]["choices"]
    assert list(tki.ENDPOINT_LABELS) == spec["endpoint"]["choices"]
    assert list(tki.SUBGROUPS) == spec["subgroup"]["choices"]
    assert list(spec["prediction_interval"]["choices"]) == list(meta_analysis.PI_TYPES)
    assert list(spec["landmark_variance"]["choices"]) == list(landmarks.LANDMARK_VARIANCES)
    assert list(spec["benchmark_representation"]["choices"]) == list(benchmark.BENCHMARK_REPRESENTATIONS)
    assert list(spec["sources"]["choices"]) == list(tki.SOURCES)
    assert list(spec["hr_pooling"]["choices"]) == list(tki.HR_POOLING)
    sensitivity = {(parameter, value) for _, parameter, value, _ in tki.SENSITIVITY_ROWS}
    for name in ("prediction_interval", "landmark_variance", "benchmark_representation", "sources"):
        assert {(name, value) for value in spec[name]["choices"]} <= sensitivity, name


def test_chapter_module_does_not_draw():
    code = ("import sys, osteobook.chapters.tki\n"
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'osteobook.plots'))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


# ---- verdicts generated from stated thresholds (referee points 3, 5, 6) -------------------------------

def test_activity_verdict_changes_with_the_activity_multiplier():
    """COG's bar is 2 × the benchmark's upper bound. At 1.25 × (24% for Lagmay, 20% for COG 2021) every TKI-alone
    row clears it and the verdict turns 'robust'; at 3 × (57% for Lagmay) none does. The text follows the flag."""
    low, high = tki.analyse(**defaults(activity_multiplier=1.25)), tki.analyse(**defaults(activity_multiplier=3.0))
    assert low.results["arm_sensitivity"]["robust_activity_bar"] is True
    assert high.results["arm_sensitivity"]["robust_activity_bar"] is False
    assert low.glue["robust_activity"] == "robust" and high.glue["robust_activity"] == "not robust"
    assert "Rule 2" in high.glue["robustness_text"] and "not robust" in high.glue["robustness_text"]
    assert not any(r["activity_bar_cleared"] for r in high.results["arm_sensitivity"]["rows"] if not r["context"])


def test_default_verdicts_name_the_failing_rows(result):
    """With COG's own multiplier the activity bar is not cleared by every selection: the failing rows are named,
    and 'stabilisation is the rule' is gone from the page."""
    failing = result.results["arm_sensitivity"]["failing_activity_bar"]
    assert failing and all(label.split(",")[0] in result.glue["robustness_text"] for label in failing[:3])
    assert "Not varied" in result.glue["robustness_text"] and "era" in result.glue["robustness_text"]
    assert "Stabilisation is the rule" not in NOTEBOOK and "every landmark rule tried" not in NOTEBOOK


def test_activity_multiplier_below_one_is_refused():
    with pytest.raises(ParameterError):
        tki.analyse(**defaults(activity_multiplier=0.5))


def test_toxicity_verdict_follows_its_threshold(result, monkeypatch):
    """The claim 'toxicities remain critical barriers' is supported when an arm reaches TOXICITY_SHARE; raising the
    share above every curated value turns the verdict to 'Not supported'."""
    assert result.claims.iloc[-1]["Verdict"].startswith("Supported descriptively")
    monkeypatch.setattr(tki, "TOXICITY_SHARE", 95.0)
    assert tki._toxicity_text(result.toxicity)["tox_verdict"].startswith("Not supported")


def test_combination_targets_and_claim(result):
    """Both combinations missed their own targets, so the combination claim is not supported as stated."""
    missed = result.targets.set_index("target_id")["verdict"]
    assert missed.to_dict() == {"G15_PFS6_GOAL": "missed", "APFAO_PFS6_GOAL": "missed", "OLIE_PFS_ALPHA": "missed"}
    combination = result.claims.loc[next(i for i in result.claims.index if "combination regimens" in i), "Verdict"]
    assert combination.startswith("Not supported as stated")
    assert "45.0%" in result.glue["combination_text"] and "≥60%" in result.glue["combination_text"]


def test_reporting_box_leads_with_tki_alone(result):
    alone = result.pools.set_index(["endpoint", "pool"]).loc[("pfs_landmark", "TKI alone")]
    assert result.glue["report_pfs"].startswith(f"With a TKI alone ({alone['arms']} arms")
    assert f"{alone['proportion']:.1%}" in result.glue["report_pfs"]
    assert "TKI + chemotherapy" in result.glue["report_pfs"]
    assert result.glue["report_orr"].startswith(f"Across {result.glue['alone_orr_k']} trial arms of a TKI given alone")


def test_randomised_text_puts_placebo_controlled_trials_first(result):
    text = result.glue["randomised_text"]
    assert text.index("SARC024") < text.index("REGOBONE") < text.index("OLIE")
    assert "17/26 vs 0/12" in text and "one-sided p = 0.04" in text and "17.9% vs 0%" in text
    assert "OS HR 1.28" in text and "59% vs 30.8%" in text


def test_apatinib_discrepancy_is_explained_from_the_quotes(result):
    text = result.glue["apatinib_text"]
    assert "16/37" in text and "2/33" in text and "final follow-up" in text and "12-week" in text
