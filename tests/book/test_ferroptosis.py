"""The ferroptosis chapter's numbers, checked against independent computations.

The model is re-solved here as a polynomial (numpy roots, not the chapter's bracketing + brentq),
the response labels are re-read from the raw series matrix, the permutation p-value is compared with
full enumeration of all 352,716 label splits, and the Cox hazard ratio with R's `survival::coxph`.
"""
import csv
import gzip
import json
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial import Polynomial

from osteobook.datasets.registry import fetch
from osteobook.paths import DATA
from tests.conftest import chapter_results
from tests.r_reference import run_r

pytestmark = pytest.mark.book
TOL = 1e-7


@pytest.fixture(scope="module")
def results():
    return chapter_results("ferroptosis")


@pytest.fixture(scope="module")
def k():
    with open(DATA / "ferroptosis_model_parameters.csv", newline="") as handle:
        return {row["parameter"]: float(row["value"]) for row in csv.DictReader(handle)}


def rate(x, m, k):
    """The Co et al. equation, written out again."""
    return (k["c"] - k["kd"] * x + k["kf"] * x ** k["n_nox"] / (x ** k["n_nox"] + k["k_nox"] ** k["n_nox"])
            - m * k["kg"] * x * k["k_gsh"] ** k["n_gsh"] / (x ** k["n_gsh"] + k["k_gsh"] ** k["n_gsh"]))


def polynomial_roots(m, k):
    """Real positive steady states: the rate times both Hill denominators is a degree-7 polynomial."""
    assert k["n_nox"] == 3 and k["n_gsh"] == 3, "the polynomial form assumes Hill coefficients of 3"
    x = Polynomial([0, 1])
    d_nox, d_gsh = x**3 + k["k_nox"] ** 3, x**3 + k["k_gsh"] ** 3
    poly = ((k["c"] - k["kd"] * x) * d_nox * d_gsh + k["kf"] * x**3 * d_gsh
            - m * k["kg"] * x * k["k_gsh"] ** 3 * d_nox)
    roots = poly.roots()
    return np.sort(roots[(abs(roots.imag) < 1e-9) & (roots.real > 0)].real)


def multiplier(erastin, k, caf=0.0, scenario="bypass"):
    s = k["s_max"] * erastin / (k["e_half"] + erastin)
    return {"capacity": (1 + caf) / (1 + s), "stress": 1 / (1 + (1 - caf) * s),
            "bypass": (1 - caf) / (1 + s) + caf}[scenario]


def test_model_parameters_are_the_table(results, k):
    assert results["model_parameters"] == k


def test_steady_states_at_2_5_uM_solve_the_equation(results, k):
    states = np.array(results["steady_states_at_2_5uM"])
    m = multiplier(2.5, k)
    assert len(states) == 3
    assert np.abs(rate(states, m, k)).max() < 1e-10
    assert states == pytest.approx(polynomial_roots(m, k), abs=TOL)


def test_fold_points_satisfy_f_and_its_derivative(results, k):
    for name in ("fold_onset", "fold_collapse"):
        fold = results[name]
        h = 1e-6
        slope = (rate(fold["x"] + h, fold["m"], k) - rate(fold["x"] - h, fold["m"], k)) / (2 * h)
        assert abs(rate(fold["x"], fold["m"], k)) < 1e-10
        assert abs(slope) < 1e-6
        s = 1 / fold["m"] - 1
        assert fold["erastin"] == pytest.approx(k["e_half"] * s / (k["s_max"] - s), rel=1e-9)
        # Just inside the window there are three polynomial roots, just outside one.
    onset, collapse = results["fold_onset"]["erastin"], results["fold_collapse"]["erastin"]
    assert len(polynomial_roots(multiplier(onset * 0.999, k), k)) == 1
    assert len(polynomial_roots(multiplier(onset * 1.001, k), k)) == 3
    assert len(polynomial_roots(multiplier(collapse * 0.999, k), k)) == 3
    assert len(polynomial_roots(multiplier(collapse * 1.001, k), k)) == 1
    assert results["bistable_window_uM"] == pytest.approx([onset, collapse])


def test_time_integration_ends_on_the_predicted_branch(results, k):
    sweep = results["hysteresis"]
    onset, collapse = results["fold_onset"]["erastin"], results["fold_collapse"]["erastin"]
    for dose, up, down in zip(sweep["erastin"], sweep["sweep_up"], sweep["sweep_down"], strict=False):
        roots = polynomial_roots(multiplier(dose, k), k)
        assert up == pytest.approx(roots[0] if dose < collapse else roots[-1], abs=1e-5)
        assert down == pytest.approx(roots[-1] if dose > onset else roots[0], abs=1e-5)
    doses = np.array(sweep["erastin"])
    assert sweep["jump_up_uM"] == pytest.approx(doses[doses > collapse].min())
    assert sweep["jump_down_uM"] == pytest.approx(doses[doses > onset].min())


def test_caf_thresholds_follow_from_the_fold_multipliers(results, k):
    folds = {"onset": results["fold_onset"]["m"], "collapse": results["fold_collapse"]["m"]}
    for row in results["caf_thresholds"]:
        for name, m in folds.items():
            a = row["caf_support"]
            s = {"capacity": (1 + a) / m - 1, "stress": (1 / m - 1) / (1 - a),
                 "bypass": (1 - a) / (m - a) - 1 if m > a else np.inf}[row["scenario"]]
            expected = k["e_half"] * s / (k["s_max"] - s) if s < k["s_max"] else None
            if expected is None:
                assert row[f"erastin_{name}"] is None and not row[f"reachable_{name}"]
            else:
                assert row[f"erastin_{name}"] == pytest.approx(expected, rel=1e-9)
                assert multiplier(expected, k, a, row["scenario"]) == pytest.approx(m, rel=1e-9)
    crit = results["critical_caf"]
    m_lo = folds["collapse"]
    assert crit["bypass"]["collapse"] == pytest.approx(((1 + k["s_max"]) * m_lo - 1) / k["s_max"], abs=1e-9)
    assert crit["capacity"]["collapse"] == pytest.approx(m_lo * (1 + k["s_max"]) - 1, abs=1e-9)
    assert crit["stress"]["collapse"] == pytest.approx(1 - (1 / m_lo - 1) / k["s_max"], abs=1e-9)
    assert results["region_check"]["agree"] == results["region_check"]["total"] > 0


@pytest.fixture(scope="module")
def response_from_header():
    with gzip.open(fetch("osteosarc_prdx2/GSE87437_series_matrix.txt.gz"), "rt") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if line.startswith("!Sample_")]
    ids = [v.strip('"') for v in next(line for line in lines if line[0] == "!Sample_geo_accession")[1:]]
    labels = next(line for line in lines if "response to preoperative chemotherapy" in line[1])
    return dict(zip(ids, [v.strip('"').split(": ")[1] for v in labels[1:]], strict=False))


def test_response_labels_come_from_the_series_header(results, response_from_header):
    gse = results["gse87437"]
    assert gse["response"] == response_from_header
    assert (gse["n_good"], gse["n_poor"]) == (10, 11)


def test_permutation_p_agrees_with_full_enumeration(results):
    gse = results["gse87437"]
    scores = pd.Series(gse["scores"])
    poor = np.array([gse["response"][s] == "POOR" for s in scores.index])
    values = scores.to_numpy()
    n1, n2, total = poor.sum(), (~poor).sum(), values.sum()
    observed = values[poor].mean() - values[~poor].mean()
    splits = np.array(list(combinations(range(len(values)), n1)))
    assert len(splits) == comb(21, 11)
    first = values[splits].sum(axis=1)
    diffs = first / n1 - (total - first) / n2
    exact = np.mean(np.abs(diffs) >= abs(observed) - 1e-12)
    test = gse["score_test"]
    n = results["parameters"]["n_permutations"]
    assert test["difference"] == pytest.approx(observed, abs=1e-12)
    assert test["p"] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / n) + 1 / n)
    pooled = np.sqrt(((n1 - 1) * values[poor].var(ddof=1) + (n2 - 1) * values[~poor].var(ddof=1)) / (n1 + n2 - 2))
    assert test["hedges_g"] == pytest.approx(observed / pooled * (1 - 3 / (4 * (n1 + n2) - 9)), rel=1e-10)


@pytest.mark.r
def test_cox_hazard_ratio_agrees_with_r(results, tmp_path):
    merged = pd.read_csv(fetch("lqz_autophagy/merge.txt"), sep="\t", index_col=0)
    clinical = pd.read_csv(fetch("lqz_autophagy/clinical.txt"), sep="\t", index_col=0).reindex(merged.columns)
    target = merged.columns.str.startswith("TARGET")
    z = pd.concat([merged.loc[:, c].sub(merged.loc[:, c].mean(axis=1), axis=0).div(merged.loc[:, c].std(axis=1), axis=0)
                   for c in (~target, target)], axis=1)[merged.columns]
    surv = results["survival"]
    drivers = z.loc[surv["drivers"]].mean()
    signed = drivers - z.loc[surv["suppressors"]].mean()
    frame = clinical.assign(signed=signed, drivers=drivers, target=target.astype(int))
    frame = frame[frame["futime"] > 0]
    frame.to_csv(tmp_path / "cox.csv")
    code = (f"library(survival); d <- read.csv('{tmp_path / 'cox.csv'}');"
            "for (v in c('signed', 'drivers')) { d$x <- as.numeric(scale(d[[v]]));"
            "f <- coxph(Surv(futime, fustate) ~ x + target, data = d); ci <- exp(confint(f))[1, ];"
            "emit(v, list(hr = exp(coef(f))[1], low = ci[1], high = ci[2], p = summary(f)$coefficients[1, 5])) }")
    r = run_r(code)
    for term in ("signed", "drivers"):
        row = next(row for row in surv["cox"] if row["term"] == term)
        assert row["hr"] == pytest.approx(r[f"{term}.hr"], rel=1e-5)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((r[f"{term}.low"], r[f"{term}.high"]), rel=1e-4)
        assert row["p"] == pytest.approx(r[f"{term}.p"], rel=1e-3)
        assert row["n"] == len(frame) and row["events"] == int(frame["fustate"].sum())
    # the driver result the page reports (issue 15, point 9): HR 0.73 (0.54-0.97), p = 0.033
    assert (round(r["drivers.hr"], 2), round(r["drivers.low"], 2), round(r["drivers.high"], 2),
            round(r["drivers.p"], 3)) == (0.73, 0.54, 0.97, 0.033)


# ---- issue 15: parameter sensitivity, fold points against the authors', every result reported -----------------

def fold_multiplier_by_root_counting(k, kind="collapse"):
    """The collapse (lowest m with three steady states) or onset (highest) multiplier, by counting the real
    positive roots of the degree-7 polynomial on a grid of m and bisecting the change: no ros code involved."""
    grid = np.linspace(0.005, 1.5, 600)
    counts = np.array([len(polynomial_roots(m, k)) for m in grid])
    three = np.flatnonzero(counts == 3)
    assert len(three), "the parameter set is not bistable"
    edge = three[0] if kind == "collapse" else three[-1]
    inside, outside = grid[edge], grid[edge - 1] if kind == "collapse" else grid[edge + 1]
    for _ in range(60):
        mid = (inside + outside) / 2
        if len(polynomial_roots(mid, k)) == 3:
            inside = mid
        else:
            outside = mid
    return (inside + outside) / 2


def critical_bypass(m, s_max):
    return min(max(((1 + s_max) * m - 1) / s_max, 0.0), 1.0)


def test_fold_points_match_the_authors_values(results, k):
    with open(DATA / "ferroptosis_fold_points.csv", newline="") as handle:
        authors = {row["fold"]: float(row["stress"]) for row in csv.DictReader(handle)}
    rtol = results["fold_match"]["rtol"]
    assert rtol == 1e-4
    for name in ("onset", "collapse"):
        ours = 1 / results[f"fold_{name}"]["m"] - 1
        assert ours == pytest.approx(authors[name], rel=rtol)
        assert results["fold_match"][name]["ours"] == pytest.approx(ours, rel=1e-12)
    # and the polynomial's own fold multipliers agree with the chapter's
    assert fold_multiplier_by_root_counting(k, "collapse") == pytest.approx(results["fold_collapse"]["m"], abs=1e-8)
    assert fold_multiplier_by_root_counting(k, "onset") == pytest.approx(results["fold_onset"]["m"], abs=1e-8)


def test_one_at_a_time_endpoints_by_root_counting(results, k):
    rows = {row["parameter"]: row for row in results["sensitivity"]["one_at_a_time"]}
    for name in ("s_max", "kg", "kf"):
        row = rows[name]
        ends = []
        for value in (row["low"], row["high"]):
            changed = {**k, name: value}
            ends.append(critical_bypass(fold_multiplier_by_root_counting(changed), changed["s_max"]))
        assert sorted(ends) == pytest.approx([row["collapse_min"], row["collapse_max"]], abs=1e-7)
    # the referee's numbers (issue 15): s_max 8 -> 20 gives 0.05-6.7%, kg +-20% gives 0.2-5.3%
    assert (rows["s_max"]["collapse_min"], rows["s_max"]["collapse_max"]) == pytest.approx((0.0005, 0.067), abs=5e-4)
    assert (rows["kg"]["collapse_min"], rows["kg"]["collapse_max"]) == pytest.approx((0.002, 0.053), abs=5e-4)


def test_latin_hypercube_band_is_reproducible_from_the_seed(results):
    from osteobook.chapters import ferroptosis
    from osteobook.datasets import model_parameters
    from osteobook.models import ros

    sens = results["sensitivity"]
    assert sens["seed"] == results["parameters"]["seed"] and sens["draws"] == results["parameters"]["sensitivity_draws"]
    p, ranges = ferroptosis.load_parameters(), model_parameters.load_ranges()
    again = ros.latin_hypercube(p, ranges, sens["draws"], sens["seed"])
    pd.testing.assert_frame_equal(again, ros.latin_hypercube(p, ranges, sens["draws"], sens["seed"]))
    kept = again[again["bistable"]]
    assert len(kept) == sens["bistable_draws"]
    for kind in ("collapse", "onset"):
        values = kept[f"crit_{kind}"]
        assert sens["band"][kind]["median"] == values.median()
        assert sens["band"][kind]["p5"] == values.quantile(0.05) and sens["band"][kind]["p95"] == values.quantile(0.95)
    other = ros.latin_hypercube(p, ranges, sens["draws"], sens["seed"] + 1)
    assert not np.allclose(other["kg"], again["kg"])
    other_kept = other[other["bistable"]]
    # a different seed: other draws, the same band within Monte Carlo error (stated: 0.01 for the collapse median
    # and p95, 0.05 for priming's median)
    assert other_kept["crit_collapse"].median() == pytest.approx(sens["band"]["collapse"]["median"], abs=0.01)
    assert other_kept["crit_collapse"].quantile(0.95) == pytest.approx(sens["band"]["collapse"]["p95"], abs=0.01)
    assert other_kept["crit_onset"].median() == pytest.approx(sens["band"]["onset"]["median"], abs=0.05)


def test_latin_hypercube_draws_by_direct_root_counting(results, k):
    # Ten draws of the design, each re-solved by the polynomial (independent of the vectorised fold search).
    from osteobook.chapters import ferroptosis
    from osteobook.datasets import model_parameters
    from osteobook.models import ros

    sens = results["sensitivity"]
    draws = ros.latin_hypercube(ferroptosis.load_parameters(), model_parameters.load_ranges(), sens["draws"], sens["seed"])
    for _, row in draws[draws["bistable"]].head(10).iterrows():
        changed = {**k, **{name: row[name] for name in ("c", "kd", "kf", "k_nox", "kg", "k_gsh", "s_max")}}
        assert row["m_collapse"] == pytest.approx(fold_multiplier_by_root_counting(changed), abs=1e-7)
        assert row["crit_collapse"] == pytest.approx(critical_bypass(row["m_collapse"], changed["s_max"]), abs=1e-12)


def test_ceiling_verdict_follows_from_the_band(results):
    sens = results["sensitivity"]
    collapse, onset = sens["band"]["collapse"], sens["band"]["onset"]
    wide = collapse["p5"] == 0 or collapse["p95"] / collapse["p5"] > sens["span_limit"]
    priming = onset["p5"] > collapse["p95"]
    assert sens["verdict"] == ("not_decidable" if wide or priming else "questioned")
    assert ("span" in sens["reasons"]) == wide and ("priming" in sens["reasons"]) == priming


def test_gse87437_treatment_protocol_is_not_applicable():
    with gzip.open(fetch("osteosarc_prdx2/GSE87437_series_matrix.txt.gz"), "rt") as handle:
        line = next(line for line in handle if line.startswith("!Sample_treatment_protocol_ch1"))
    values = [v.strip('"') for v in line.rstrip("\n").split("\t")[1:]]
    assert values == ["not applicable"] * 21


def test_survival_alt_text_carries_the_result_numbers(results):
    surv = results["survival"]
    alt = surv["alt_text"]
    assert f"Forest plot of {len(surv['cox'])} hazard ratios" in alt
    for row in surv["cox"]:
        excludes = row["ci_low"] > 1 or row["ci_high"] < 1
        assert (f"({row['ci_low']:.2f} to {row['ci_high']:.2f}) lies" in alt) == excludes
    crossing = sum(row["ci_low"] <= 1 <= row["ci_high"] for row in surv["cox"])
    assert f"{crossing} interval" in alt
    page = (DATA.parent / "notebooks" / "ferroptosis.md").read_text()
    assert ":alt: {glue:text}`survival_alt`\n" in page  # filled from the results by engine.alt_text


def test_every_significant_survival_result_is_in_the_page_text(results):
    # Each Cox result with p < 0.05 is glued into the page with its HR, CI and p (point 9 of issue 15).
    notebook = json.loads((DATA.parent / "_build" / "executed" / "default" / "ferroptosis.ipynb").read_text())
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook["cells"]], ensure_ascii=False)
    significant = [row for row in results["survival"]["cox"] if row["p"] < 0.05]
    assert significant, "the driver score (p = 0.033) is expected among the results"
    for row in significant:
        assert f"HR {row['hr']:.2f} per SD (95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f}), p = {row['p']:.3f}" in outputs
