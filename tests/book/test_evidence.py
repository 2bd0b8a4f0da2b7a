"""The opening chapter's numbers, recomputed independently from the raw CSV files; its reader tables (every
curated value linked to its source and quote, no curation notes); the curation page against the data."""
import csv
import html
import re

import pytest

from osteobook.chapters import evidence
from osteobook.datasets import trials
from osteobook.paths import DATA, ROOT
from tests.conftest import chapter_results, clopper_pearson

TOL = 1e-9


@pytest.fixture(scope="module")
def results():
    return chapter_results("evidence")


@pytest.fixture(scope="module")
def rows():
    """Outcome rows the chapter should show: verified or secondary values of verified or secondary,
    osteosarcoma-specific arms of prospective trials (read here straight from the CSV files)."""
    with open(DATA / "trial_arms.csv", newline="") as handle:
        arms = {r["arm_id"]: r for r in csv.DictReader(handle)}
    with open(DATA / "trial_outcomes.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if arms[r["arm_id"]]["status"] != "unverified"
                and arms[r["arm_id"]]["osteosarcoma_specific"] == "true"
                and arms[r["arm_id"]]["design"] == "prospective trial"]



pytestmark = pytest.mark.book


def test_every_count_has_its_exact_interval(results, rows):
    counted = {r["outcome_id"]: r for r in rows if r["events"] and r["n"] and r["status"] != "unverified"
               and r["endpoint"] in ("orr", "pfs_landmark")}
    assert set(results["intervals"]) == set(counted)
    for outcome_id, row in counted.items():
        x, n = int(row["events"]), int(row["n"])
        got = results["intervals"][outcome_id]
        assert got["rate"] == pytest.approx(x / n, abs=TOL)
        assert (got["low"], got["high"]) == pytest.approx(clopper_pearson(x, n), abs=1e-8), outcome_id


def test_hand_checked_intervals(results):
    """Published exact intervals the chapter must reproduce from counts (rounded as printed)."""
    published = {"LEN_PFS4_BIN": (0.142, 0.480), "CAB_ORR": (0.04, 0.26), "LEN_ORR": (0.008, 0.221)}
    for outcome_id, (low, high) in published.items():
        got = results["intervals"][outcome_id]
        digits = 3 if outcome_id.startswith("LEN") else 2
        assert (round(got["low"], digits), round(got["high"], digits)) == (low, high), outcome_id


def test_benchmark_comparison(results, rows):
    """Landmark PFS rows near 17.4 weeks, without response-based clinical benefit rates (Boye 2021's CR+PR+SD
    at 18 weeks is listed, never compared); counts are of distinct arms, one estimate each (Kaplan–Meier where
    ITCC-050 reports two), with the chemotherapy-only control apart."""
    upper = 0.19
    near = [r for r in rows if r["endpoint"] == "pfs_landmark" and r["status"] != "unverified"
            and abs(float(r["landmark_weeks"]) - 17.4) <= 2.0 and "CR+PR+SD" not in r["landmark_label"]]
    assert results["compared"] == sorted(r["outcome_id"] for r in near)
    assert results["clinical_benefit_not_compared"] == ["BOYE_CB18W"]

    def rate(r):
        return int(r["events"]) / int(r["n"]) if r["events"] else float(r["estimate"])
    assert results["above_upper"] == sorted(r["outcome_id"] for r in near if rate(r) > upper)
    assert "S24_PBO_PFS16W" in results["compared"] and "S24_PBO_PFS16W" not in results["above_upper"]
    # two estimates of the same arms (binomial and Kaplan-Meier) count once, by the Kaplan-Meier one
    assert {"LEN_PFS4_BIN", "LENIE_PFS4_BIN"} <= set(results["compared"])
    assert not {"LEN_PFS4_BIN", "LENIE_PFS4_BIN"} & set(results["per_arm"])
    arms = {r["arm_id"] for r in near}
    assert len(results["per_arm"]) == len(arms) == 9
    # 8 of 9 arms above the upper bound, 4 with the whole CI above it (the count, minus Boye's CB row)
    assert len(results["arms_above_upper"]) == 8 and len(results["arms_ci_above_upper"]) == 4
    # the chemotherapy-only control of OLIE (66% at 4 months) clears the benchmark too, and is counted apart
    assert results["controls_above_upper"] == ["OLIE_IE_PFS4"]


def test_benchmark_reconstruction(results):
    bench = results["benchmark"]
    assert (bench["n"], bench["estimate"], bench["ci_low"], bench["ci_high"]) == (96, 0.12, 0.06, 0.19)
    matching = {tuple(pair) for pair in bench["reconstructions_matching_ci"]}
    assert (11, "Jeffreys") in matching and (11, "Kaplan–Meier, log–log (no censoring)") in matching
    assert (11, "exact (Clopper–Pearson)") not in matching


# ---- reader tables ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analysis():
    return evidence.analyse("exact", 17.4, 2.0, "LAGMAY2016_EFS4", False)


def test_every_curated_value_links_to_its_source_and_quote(analysis):
    """One row per value; each links to the page it was read on (and the DOI/PMID when seen), carries the
    verbatim quote as a tooltip and in a collapsible block, and shows no internal id or index."""
    styler = evidence.summary_table(analysis.rows)
    table_html = styler.to_html()
    body = re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.DOTALL)[1:]
    assert len(body) == len(analysis.rows)
    for row in analysis.rows.itertuples():
        first = row.source_url.split(" | ")[0].strip()
        assert f'href="{html.escape(first, quote=True)}"' in table_html, row.outcome_id
        assert html.escape(row.quote) in table_html, row.outcome_id
        if isinstance(row.doi, str):
            assert f"https://doi.org/{row.doi}" in table_html, row.outcome_id
        assert row.outcome_id not in table_html and row.arm_id not in table_html
    assert "<th" in table_html and "row_heading" not in table_html  # no index column
    assert all(cell.count("<details") == 1 for cell in styler.data["Source and quote"])


def test_curation_notes_never_reach_the_tables():
    """The `notes` columns and curation markers stay in data/, with unverified values included too."""
    every = evidence.analyse("exact", 17.4, 2.0, "LAGMAY2016_EFS4", True)
    text = evidence.summary_table(every.rows).to_html() + evidence.comparison_table(every.compared).to_html()
    for row in every.rows.itertuples():
        for note in (row.notes, row.notes_arm):
            if isinstance(note, str) and len(note) > 40:
                assert html.escape(note) not in text and note not in text
    assert not re.search(r"\bmemory\b|not found|NOT verified|\bdraft\b|full text not read|no verbatim source text:", text)
    assert "No verbatim source text was recorded" in text  # the marker quote of unverified values, reworded


def test_counts_in_prose_are_of_distinct_arms(analysis):
    takeaway = analysis.glue["benchmark_takeaway"]
    assert takeaway.startswith("7 of 7 arms with a targeted agent")
    assert "4 of the 4 with a confidence interval" in takeaway
    assert "1 of 2 control arms" in takeaway and "OLIE: IE" in takeaway
    assert analysis.glue["n_estimates"] == 11 and analysis.glue["n_compared"] == 9


def test_consistency_checks_flag_the_known_conflicts(analysis):
    """The conflicts of data/trials_CURATION.md that the data themselves reveal."""
    flagged = {(outcome, check) for outcome, check in analysis.results["checks"]}
    assert ("G15_ORR", "printed rate is not the count") in flagged  # 10% printed, 2/38 = 5.3%
    assert ("APFAO_PFS6_CRUDE", "printed CI does not fit the count") in flagged  # upper bound 40.1 vs 46.1
    assert ("S24_REG_PFS16W", "rate is not a whole count of n") in flagged  # 44.4% of 22 = 9.8
    assert ("MB_PFS4", "rate is not a whole count of n") in flagged  # 44% of 35 = 15.4
    assert not {outcome for outcome, _ in flagged} & {"G12_ORR", "CAB_ORR", "LEN_ORR", "XIE19_PFS4", "G15_PFS6"}


def test_curation_page_matches_the_data():
    """book/curation.md holds the generated status counts and checks verbatim (regenerate with
    `python -c "from osteobook.chapters.evidence import curation_markdown; print(curation_markdown())"`)."""
    page = (ROOT / "book" / "curation.md").read_text()
    block = re.search(r"<!-- generated: .*? -->\n(.*?)\n<!-- end generated -->", page, flags=re.DOTALL)
    assert block, "book/curation.md lost its generated block"
    assert block.group(1).strip() == evidence.curation_markdown().strip()
    assert not re.search(r"\bmemory\b|NOT verified", page)


def test_references_readers_see_hold_no_curation_notes():
    """Staging strips `note` fields; no other field (title, journal, ...) of any .bib may carry a curation note."""
    from osteobook.engine.render import without_notes
    for path in sorted((ROOT / "book").rglob("*.bib")):
        fields = "\n".join(line for line in without_notes(path.read_text()).splitlines()
                           if not line.lstrip().startswith("%"))  # BibTeX comments are not rendered
        assert not re.search(r"\bmemory\b|not found|not verified|\bdraft\b|not seen", fields, re.IGNORECASE), path


def test_activity_bar_counts_by_hand(results):
    """COG's activity bar (2 × the benchmark's upper bound) for both COG benchmarks, counted over distinct active
    arms by hand from the per-arm estimates and benchmarks.csv (the results file of the last run)."""
    per_arm = evidence.analyse(**{key: results["parameters"][key] for key in
                                  ("ci_method", "landmark_weeks", "landmark_tolerance_weeks", "benchmark",
                                   "include_unverified")}).per_arm
    active = per_arm.loc[per_arm["drug_class"] != "control"]
    benchmarks = trials.load_benchmarks().set_index("benchmark_id")
    rows = {row["benchmark"]: row for row in results["activity_bars"]["rows"]}
    assert set(rows) == {"LAGMAY2016_EFS4", "COG2021_EFS4"}
    for bench_id, row in rows.items():
        upper = float(benchmarks.at[bench_id, "ci_high"])
        assert row["bar"] == pytest.approx(2 * upper, abs=1e-12)
        assert row["arms"] == active["arm_id"].nunique()
        assert row["above_bar"] == sum(rate > 2 * upper for rate in active["rate"])
        assert row["ci_above_bar"] == sum(low > 2 * upper for low in active["low"].dropna())
    assert rows["LAGMAY2016_EFS4"]["bar"] == pytest.approx(0.38) and rows["COG2021_EFS4"]["bar"] == pytest.approx(0.32)
