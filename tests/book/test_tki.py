"""The TKI chapter's numbers, checked against R's metafor on the same data and against hand-checked values.

Tolerance: 5e-5 (every number agrees with metafor when rounded to 4 decimals). metafor's REML stops
at a change below 1e-5 and lme4's optimiser (behind rma.glmm) at ~1e-5, so closer agreement would test
their stopping rules, not the method; the unit tests compare at 1e-7 with tightened convergence.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyreadr
import pytest
from scipy import stats

from osteobook.datasets import trials
from osteobook.datasets.registry import fetch
from osteobook.paths import NOTEBOOKS, results_path
from osteobook.stats.meta_analysis import MEASURES
from tests.conftest import chapter_results
from tests.r_reference import r_vector, run_r

pytestmark = pytest.mark.book
TOL = 5e-5
FIELDS = ["estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "proportion", "proportion_ci_low",
          "proportion_ci_high", "proportion_pi_low", "proportion_pi_high"]


@pytest.fixture(scope="module")
def results() -> dict:
    return chapter_results("tki")


def r_fit(label: str, x, n, transform: str, method: str, test: str) -> str:
    """R lines fitting and emitting one model, as `rma` or `rma.glmm` would be called by hand."""
    measure = MEASURES[transform]
    call = (f'rma.glmm(measure="PLO", xi={r_vector(x)}, ni={r_vector(n)})' if method == "ML (GLMM)" else
            f'rma(measure="{measure}", xi={r_vector(x)}, ni={r_vector(n)}, method="{method}", test="{test}")')
    return f'emit_fit("{label}", {call}, {r_vector(n)}, "{measure}")'


def assert_matches(ours: dict, theirs: dict[str, float], label: str) -> None:
    for field in FIELDS:
        assert ours[field] == pytest.approx(theirs[f"{label}.{field}"], abs=TOL), f"{label}: {field}"
    assert ours["i2"] / 100 == pytest.approx(theirs[f"{label}.i2"] / 100, abs=TOL), f"{label}: I²"
    assert ours["k"] == theirs[f"{label}.k"]


@pytest.fixture(scope="module")
def metafor(results) -> dict[str, float]:
    """Every pooled fit the chapter reports, refitted by metafor from the chapter's own inputs."""
    lines = []
    for endpoint, data in results["inputs"].items():
        for i, row in enumerate(results["methods"][endpoint]):
            lines.append(r_fit(f"{endpoint}.method{i}", data["events"], data["n"], row["transform"], row["method"],
                               row["test"]))
    p = results["parameters"]
    test = "knha" if p["hartung_knapp"] else "z"
    for endpoint, data in results["inputs"].items():
        lines.append(r_fit(f"{endpoint}.chosen", data["events"], data["n"], p["transform"], p["tau2_method"], test))
    focus = results["inputs"][p["endpoint"]]
    for i in range(len(focus["events"])):
        keep = [j for j in range(len(focus["events"])) if j != i]
        lines.append(r_fit(f"loo{i}", [focus["events"][j] for j in keep], [focus["n"][j] for j in keep],
                           p["transform"], p["tau2_method"], test))
    return run_r("\n".join(lines))


@pytest.mark.r
def test_pooled_estimates_match_metafor(results, metafor):
    for endpoint, fit in results["pooled"].items():
        assert_matches(fit, metafor, f"{endpoint}.chosen")


@pytest.mark.r
def test_every_method_row_matches_metafor(results, metafor):
    for endpoint, rows in results["methods"].items():
        for i, row in enumerate(rows):
            assert_matches(row, metafor, f"{endpoint}.method{i}")


@pytest.mark.r
def test_leave_one_out_matches_metafor(results, metafor):
    for i, row in enumerate(results["leave_one_out"]):
        assert_matches(row, metafor, f"loo{i}")


@pytest.mark.r
def test_subgroup_test_matches_metafor(results):
    p = results["parameters"]
    focus = pd.DataFrame(results["inputs"][p["endpoint"]])
    if p["subgroup"] != "regimen":
        pytest.skip("the inputs record the regimen only")
    test = "knha" if p["hartung_knapp"] else "z"
    lines = [r_fit(f"g{i}", part["events"], part["n"], p["transform"], p["tau2_method"], test)
             for i, (_, part) in enumerate(focus.groupby("regimen", sort=True))]
    theirs = run_r("\n".join(lines))
    groups = results["subgroups"]["fits"]
    for i, fit in enumerate(groups):
        assert_matches(fit, theirs, f"g{i}")
    between = run_r(f'emit_fit("q", rma(yi={r_vector([g["estimate"] for g in groups])}, '
                    f'sei={r_vector([g["se"] for g in groups])}, method="EE"))')
    assert results["subgroups"]["q_between"] == pytest.approx(between["q.q"], abs=TOL)
    assert results["subgroups"]["p_between"] == pytest.approx(between["q.q_p"], abs=TOL)


@pytest.mark.r
def test_pooled_hazard_ratio_matches_metafor(results):
    listed = [row for row in results["hazard_ratios"]["listed"] if row["endpoint"] == "hr_pfs" and row["ci_low"]]
    hr, low, high = ([row[key] for row in listed] for key in ("estimate", "ci_low", "ci_high"))
    theirs = run_r(f"""yi <- log({r_vector(hr)})
        sei <- (log({r_vector(high)}) - log({r_vector(low)})) / (2 * qnorm(0.975))
        emit_fit("hr", rma(yi = yi, sei = sei, method = "EE"))""")
    ours = results["hazard_ratios"]["pooled"]["hr_pfs"]
    for field in ["estimate", "se", "ci_low", "ci_high", "q"]:
        assert ours[field] == pytest.approx(theirs[f"hr.{field}"], abs=TOL), field


def test_response_inputs_are_the_curated_counts(results):
    """Every TKI arm with a counted objective response is pooled, with its counts unchanged."""
    evidence = trials.evidence()
    orr = evidence.loc[(evidence["endpoint"] == "orr") & evidence["drug_class"].str.contains("TKI")
                       & evidence["events"].notna()].set_index("arm_id")
    inputs = results["inputs"]["orr"]
    assert sorted(inputs["arm_id"]) == sorted(orr.index)
    for arm, x, n in zip(inputs["arm_id"], inputs["events"], inputs["n"], strict=False):
        assert (x, n) == (orr.at[arm, "events"], orr.at[arm, "n"]), arm


def test_landmark_inputs_by_hand(results):
    """Default rule (16–18 weeks, Kaplan–Meier preferred): hand-derived counts from trial_outcomes.csv."""
    outcomes = trials.load_outcomes().set_index("outcome_id")
    expected = {
        "GRIGNANI2012_SORAFENIB": round(outcomes.at["G12_PFS4", "estimate"] * 35),   # 46% of 35 -> 16
        "ITCC050_LENVATINIB": round(outcomes.at["LEN_PFS4_KM", "estimate"] * 31),     # 37.8% of 31 -> 12
        "SARC024_OS_REGORAFENIB": round(outcomes.at["S24_REG_PFS16W", "estimate"] * 22),  # 16 weeks
        "XIE2019_APATINIB": int(outcomes.at["XIE19_PFS4", "events"]),                 # reported 21/37
        "ITCC050_LENVATINIB_IE": round(outcomes.at["LENIE_PFS4_KM", "estimate"] * 35),
        "OLIE_LENVATINIB_IE": round(outcomes.at["OLIE_LENIE_PFS4", "estimate"] * 40),
    }
    inputs = results["inputs"]["pfs_landmark"]
    assert dict(zip(inputs["arm_id"], inputs["events"], strict=False)) == expected


def test_benchmark_is_read_from_the_table(results):
    bench = trials.load_benchmarks().set_index("benchmark_id").loc["LAGMAY2016_EFS4"]
    got = results["benchmark"]
    assert (got["estimate"], got["events"], got["n"]) == (bench["estimate"], bench["events"], bench["n"])


def test_tki_alone_comparison_by_hand(results):
    """The z-test against the benchmark, recomputed from the pooled logit estimate and 11/96."""
    row = next(r for r in results["benchmark"]["grid"]
               if r["rule"] == "16-18 weeks" and r["prefer"] == "kaplan-meier")
    bench_logit, bench_var = np.log(11 / 85), 1 / 11 + 1 / 85
    z = (row["estimate"] - bench_logit) / np.sqrt(row["se"] ** 2 + bench_var)
    assert row["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert results["tki_alone_pfs"]["arms"] == 4
    assert all(r["ci_low_above_benchmark_ci"] for r in results["benchmark"]["grid"])


def test_hazard_ratio_pool_by_hand(results):
    hr, se = np.log([0.42, 0.54]), (np.log([0.85, 1.08]) - np.log([0.21, 0.27])) / (2 * stats.norm.ppf(0.975))
    w = 1 / se**2
    assert results["hazard_ratios"]["pooled"]["hr_pfs"]["hr"] == pytest.approx(
        np.exp(np.sum(w * hr) / np.sum(w)), rel=1e-9)
    assert "hr_os" not in results["hazard_ratios"]["pooled"]  # only OLIE reports an OS CI


def test_gdsc_comparison_recomputed_from_the_matrix(results):
    """Medians and the Mann–Whitney p for sorafenib, straight from the .rds and GDSC's ten osteosarcoma ids."""
    matrix = next(iter(pyreadr.read_r(str(fetch("lqz_autophagy/GDSC2_Res.rds"))).values()))
    ids = {906827, 1290807, 907060, 909977, 907072, 908131, 925345, 910849, 909707, 909776}
    assert set(results["gdsc"]["osteosarcoma_lines"]) == ids
    sorafenib = matrix["Sorafenib_1085"].dropna()
    inside = sorafenib.index.isin([f"COSMIC_{i}" for i in ids])
    got = next(d for d in results["gdsc"]["drugs"] if d["drug"] == "Sorafenib_1085")
    assert got["median_group"] == pytest.approx(np.median(sorafenib[inside]), abs=1e-12)
    assert got["median_other"] == pytest.approx(np.median(sorafenib[~inside]), abs=1e-12)
    expected = stats.mannwhitneyu(sorafenib[inside], sorafenib[~inside], method="asymptotic").pvalue
    assert got["p"] == pytest.approx(expected, rel=1e-9)


def test_chapter_cites_every_pooled_trial(results):
    """Each arm pooled in the chapter is cited by the bibkey of trial_arms.csv."""
    text = (NOTEBOOKS / "tki.md").read_text()
    cited = set(re.findall(r"[a-z]+\d{4}[a-z]*", " ".join(re.findall(r"\{footcite:[pt]\}`([^`]+)`", text))))
    arms = trials.load_arms().set_index("arm_id")
    pooled = {arm for data in results["inputs"].values() for arm in data["arm_id"]}
    assert {arms.at[arm, "bibkey"] for arm in pooled} <= cited


def test_profile_freeman_tukey_dl_matches_metafor():
    """The ft_dl profile's own results file, when that variant has been built, agrees with metafor too."""
    if not results_path("tki", "ft_dl").exists():
        pytest.fail("profile ft_dl not built: `make test` builds every profile (osteobook build --profile ft_dl)")
    profile = chapter_results("tki", "ft_dl")
    assert (profile["parameters"]["transform"], profile["parameters"]["tau2_method"]) == ("freeman-tukey", "DL")
    lines = [r_fit(f"{endpoint}", data["events"], data["n"], "freeman-tukey", "DL", "z")
             for endpoint, data in profile["inputs"].items()]
    theirs = run_r("\n".join(lines))
    for endpoint, fit in profile["pooled"].items():
        assert_matches(fit, theirs, endpoint)
