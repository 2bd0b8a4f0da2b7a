"""The ferroptosis chapter's numbers, checked against independent computations.

The model is re-solved here as a polynomial (numpy roots, not the chapter's bracketing + brentq),
the response labels are re-read from the raw series matrix, the permutation p-value is compared with
full enumeration of all 352,716 label splits, and the Cox hazard ratio with R's `survival::coxph`.
"""
import csv
import gzip
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
    signed = z.loc[surv["drivers"]].mean() - z.loc[surv["suppressors"]].mean()
    frame = clinical.assign(signed=signed, target=target.astype(int))
    frame = frame[frame["futime"] > 0]
    frame.to_csv(tmp_path / "cox.csv")
    code = (f"library(survival); d <- read.csv('{tmp_path / 'cox.csv'}'); d$signed <- as.numeric(scale(d$signed));"
            "f <- coxph(Surv(futime, fustate) ~ signed + target, data = d); emit('cox', list(hr = exp(coef(f))[1]))")
    hr_r = run_r(code)["cox.hr"]
    row = next(r for r in surv["cox"] if r["term"] == "signed")
    assert row["hr"] == pytest.approx(hr_r, rel=1e-5)
    assert row["n"] == len(frame) and row["events"] == int(frame["fustate"].sum())
