"""The opening chapter's numbers, recomputed independently from the raw CSV files."""
import csv

import pytest

from osteobook.paths import DATA
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
    upper = 0.19
    near = [r for r in rows if r["endpoint"] == "pfs_landmark" and r["status"] != "unverified"
            and abs(float(r["landmark_weeks"]) - 17.4) <= 2.0]
    assert results["compared"] == sorted(r["outcome_id"] for r in near)

    def rate(r):
        return int(r["events"]) / int(r["n"]) if r["events"] else float(r["estimate"])
    assert results["above_upper"] == sorted(r["outcome_id"] for r in near if rate(r) > upper)
    assert "S24_PBO_PFS16W" in results["compared"] and "S24_PBO_PFS16W" not in results["above_upper"]
    # the chemotherapy-only control of OLIE (66% at 4 months, KM) clears the benchmark too
    assert results["controls_above_upper"] == ["OLIE_IE_PFS4"]


def test_benchmark_reconstruction(results):
    bench = results["benchmark"]
    assert (bench["n"], bench["estimate"], bench["ci_low"], bench["ci_high"]) == (96, 0.12, 0.06, 0.19)
    matching = {tuple(pair) for pair in bench["reconstructions_matching_ci"]}
    assert (11, "Jeffreys") in matching and (11, "Kaplan–Meier, log–log (no censoring)") in matching
    assert (11, "exact (Clopper–Pearson)") not in matching
