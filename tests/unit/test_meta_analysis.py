"""osteobook.meta_analysis: hand-checked values, invariants, and agreement with R's metafor."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from osteobook.stats import meta_analysis as ma
from tests.r_reference import r_vector, run_r

# Test data (not the book's): heterogeneous rates; sparse with 0/n and n/n arms; homogeneous.
HETEROGENEOUS = ([4, 1, 6, 3, 14, 2, 8], [30, 25, 28, 40, 33, 29, 41])
SPARSE = ([0, 4, 10, 12, 7], [12, 20, 25, 12, 30])
HOMOGENEOUS = ([10, 20, 30], [100, 200, 300])
DATASETS = {"heterogeneous": HETEROGENEOUS, "sparse": SPARSE, "homogeneous": HOMOGENEOUS}
VARIANTS = list(itertools.product(ma.MEASURES, ma.TAU2_METHODS, (False, True)))
FIELDS = ["estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "q", "q_p", "proportion",
          "proportion_ci_low", "proportion_ci_high", "proportion_pi_low", "proportion_pi_high"]
PI_FIELDS = ["pi_low", "pi_high", "proportion_pi_low", "proportion_pi_high"]
# Emits predict(fit, pi.type = "riley"): Riley et al.'s t quantile with k - 2 degrees of freedom.
R_RILEY = r"""
emit_riley <- function(prefix, fit, ni, measure = "PLO") {
  p <- predict(fit, pi.type = "riley")
  back <- if (measure == "PFT") predict(fit, pi.type = "riley", transf = transf.ipft.hm, targs = list(ni = ni)) else
    predict(fit, pi.type = "riley", transf = transf.ilogit)
  emit(prefix, list(pi_low = p$pi.lb, pi_high = p$pi.ub, proportion_pi_low = back$pi.lb,
                    proportion_pi_high = back$pi.ub))
}
"""


def test_logit_effect_sizes_by_hand():
    yi, vi = ma.effect_sizes([3, 0], [35, 12], "logit")
    assert yi == pytest.approx([np.log(3 / 32), np.log(0.5 / 12.5)])  # 1/2 added to the 0-event arm only
    assert vi == pytest.approx([1 / 3 + 1 / 32, 1 / 0.5 + 1 / 12.5])


def test_freeman_tukey_effect_sizes_by_hand():
    yi, vi = ma.effect_sizes([5], [42], "freeman-tukey")
    assert yi[0] == pytest.approx(0.5 * (np.arcsin(np.sqrt(5 / 43)) + np.arcsin(np.sqrt(6 / 43))))
    assert vi[0] == pytest.approx(1 / 170)


@pytest.mark.parametrize("x, n", [(0, 20), (3, 20), (10, 20), (20, 20), (7, 41)])
def test_freeman_tukey_back_transform_inverts_a_single_arm(x, n):
    yi, _ = ma.effect_sizes([x], [n], "freeman-tukey")
    assert ma.to_proportion(yi, "freeman-tukey", [n])[0] == pytest.approx(x / n, abs=1e-9)


def test_dersimonian_laird_by_hand():
    yi, vi = np.array([0.1, 0.5, 0.9]), np.array([0.04, 0.05, 0.06])
    w = 1 / vi
    mean = np.sum(w * yi) / np.sum(w)
    q = np.sum(w * (yi - mean) ** 2)
    expected = (q - 2) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert ma.tau2_dl(yi, vi) == pytest.approx(expected)


def test_reml_maximises_the_restricted_likelihood():
    yi, vi = ma.effect_sizes(*HETEROGENEOUS)

    def negative_restricted_loglik(tau2: float) -> float:
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        return 0.5 * (np.sum(np.log(vi + tau2)) + np.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2))

    best = optimize.minimize_scalar(negative_restricted_loglik, bounds=(0, 10), method="bounded",
                                    options={"xatol": 1e-10})
    assert ma.tau2_reml(yi, vi) == pytest.approx(best.x, abs=1e-6)


@pytest.mark.parametrize("method", ma.TAU2_METHODS)
def test_homogeneous_arms_have_no_heterogeneity(method):
    fit = ma.pool(*ma.effect_sizes(*HOMOGENEOUS), method=method)
    assert fit.tau2 == 0 and fit.i2 == 0
    assert special.expit(fit.estimate) == pytest.approx(0.1)


def test_riley_prediction_interval_by_hand():
    """Riley et al. (2011): mu ± t(k − 2) × sqrt(tau² + SE²); metafor's default uses the normal quantile."""
    yi, vi = ma.effect_sizes(*HETEROGENEOUS)
    riley, default = ma.pool(yi, vi, "REML"), ma.pool(yi, vi, "REML", pi_type="metafor")
    spread = np.sqrt(riley.tau2 + riley.se**2)
    assert riley.pi_high - riley.estimate == pytest.approx(2.5705818366 * spread, rel=1e-9)  # t(0.975, 5)
    assert default.pi_high - default.estimate == pytest.approx(1.959963984540054 * spread, rel=1e-9)
    assert (riley.pi_df, riley.pi_type) == (5.0, "riley") and np.isnan(default.pi_df)
    assert (riley.estimate, riley.ci_low) == (default.estimate, default.ci_low)  # only the PI changes


def test_prediction_interval_degrees_of_freedom_never_below_one():
    assert ma.prediction_critical(2, None, "riley") == pytest.approx((12.706204736, 1.0))
    assert ma.prediction_critical(3, None, "riley")[1] == 1.0
    assert np.isnan(ma.pool([0.1], [0.04]).pi_low)  # one study: no prediction interval


def test_hartung_knapp_scales_the_standard_error_and_uses_t():
    yi, vi = ma.effect_sizes(*HETEROGENEOUS)
    plain, knha = ma.pool(yi, vi, "DL"), ma.pool(yi, vi, "DL", knha=True)
    w = 1 / (vi + plain.tau2)
    scale = np.sqrt(np.sum(w * (yi - plain.estimate) ** 2) / (len(yi) - 1))
    assert knha.se == pytest.approx(plain.se * scale)
    assert knha.ci_high - knha.estimate == pytest.approx(knha.se * 2.4469118511, rel=1e-9)  # t(0.975, 6)


def test_hartung_knapp_falls_back_below_three_studies():
    """Two studies that agree closely: HK's rescaling (1 df) would shrink the SE several-fold; the fit warns
    and keeps the normal interval (the fallback is the z-based fit, `knha_fallback` set)."""
    yi, vi = np.array([1.25, 1.36]), np.array([0.16, 0.16])
    with pytest.warns(ma.HartungKnappFallback, match="k = 2"):
        fit = ma.pool(yi, vi, "REML", knha=True)
    plain = ma.pool(yi, vi, "REML")
    assert fit.knha_fallback and fit.test == "z" and not plain.knha_fallback
    assert (fit.se, fit.ci_low, fit.ci_high) == (plain.se, plain.ci_low, plain.ci_high)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ma.pool(yi, vi, "REML", knha=True, knha_min_k=2).se < plain.se  # what HK alone would do


def test_subgroups_report_the_hartung_knapp_fallback():
    table = pd.DataFrame({"events": HETEROGENEOUS[0], "n": HETEROGENEOUS[1], "group": list("aaaaabb")})
    with pytest.warns(ma.HartungKnappFallback, match="subgroup"):
        fits, between = ma.subgroup_analysis(table, "group", method="REML", knha=True)
    assert between["knha_fallback"] == ["b"]
    assert list(fits["test"]) == ["knha", "z"]
    plain = ma.pool_proportions(HETEROGENEOUS[0][5:], HETEROGENEOUS[1][5:], method="REML")
    assert fits.loc[1, "se"] == pytest.approx(plain["se"], rel=1e-12)


def test_common_effect_is_the_inverse_variance_mean():
    yi, vi = np.array([0.2, -0.1]), np.array([0.01, 0.04])
    fit = ma.pool(yi, vi, "EE")
    assert fit.estimate == pytest.approx((0.2 / 0.01 - 0.1 / 0.04) / (1 / 0.01 + 1 / 0.04))
    assert fit.se == pytest.approx(np.sqrt(1 / (1 / 0.01 + 1 / 0.04)))


def test_pooled_hazard_ratio_by_hand():
    pooled = ma.pool_log_hazard_ratios([0.5, 0.8], [0.25, 0.4], [1.0, 1.6])
    se = (np.log([1.0, 1.6]) - np.log([0.25, 0.4])) / (2 * 1.959963984540054)
    w = 1 / se**2
    expected = np.exp(np.sum(w * np.log([0.5, 0.8])) / np.sum(w))
    assert pooled["hr"] == pytest.approx(expected)
    assert pooled["hr_ci_high"] == pytest.approx(np.exp(np.log(expected) + 1.959963984540054 / np.sqrt(np.sum(w))))


def test_glmm_reduces_to_the_common_logit_when_rates_agree():
    fit = ma.glmm_logit([100, 200, 300], [1000, 2000, 3000])
    assert fit.tau2 == pytest.approx(0, abs=1e-8)
    assert fit.estimate == pytest.approx(special.logit(0.1), abs=1e-6)


def test_glmm_quadrature_has_converged_at_seven_nodes():
    seven, many = ma.glmm_logit(*HETEROGENEOUS, nodes=7), ma.glmm_logit(*HETEROGENEOUS, nodes=40)
    assert seven.estimate == pytest.approx(many.estimate, abs=1e-4)
    assert seven.tau2 == pytest.approx(many.tau2, abs=1e-4)


def test_subgroup_test_compares_subgroup_estimates():
    table = pd.DataFrame({"events": HETEROGENEOUS[0], "n": HETEROGENEOUS[1], "group": list("aaabbbb")})
    fits, between = ma.subgroup_analysis(table, "group", method="DL")
    w = 1 / fits["se"] ** 2
    mean = np.sum(w * fits["estimate"]) / np.sum(w)
    assert between["q_between"] == pytest.approx(np.sum(w * (fits["estimate"] - mean) ** 2))
    assert between["df"] == 1


def test_leave_one_out_drops_each_arm_once():
    table = pd.DataFrame({"events": SPARSE[0], "n": SPARSE[1], "label": list("abcde")})
    loo = ma.leave_one_out(table, method="DL")
    assert list(loo["left_out"]) == list("abcde") and set(loo["k"]) == {4}
    first = ma.pool_proportions(SPARSE[0][1:], SPARSE[1][1:], method="DL")
    assert loo.loc[0, "proportion"] == pytest.approx(first["proportion"])


@pytest.mark.parametrize("bad", [{"transform": "probit"}, {"method": "PM"}])
def test_unknown_options_are_refused(bad):
    with pytest.raises(ValueError):
        ma.pool_proportions(*HETEROGENEOUS, **bad)


def test_counts_are_checked():
    with pytest.raises(ValueError):
        ma.effect_sizes([5], [4])


@pytest.fixture(scope="module")
def metafor() -> dict[str, float]:
    """metafor's rma() for every dataset × variant (tight REML convergence) and rma.glmm() for two, each with
    metafor's default prediction interval and with `pi.type = "riley"` (prefix `riley.`)."""
    lines = [R_RILEY]
    for name, (x, n) in DATASETS.items():
        lines.append(f"x <- {r_vector(x)}; n <- {r_vector(n)}")
        for transform, method, knha in VARIANTS:
            measure = ma.MEASURES[transform]
            test = "knha" if knha else "z"
            prefix = f"{name}.{transform}.{method}.{knha}"
            lines.append(f'f <- rma(measure="{measure}", xi=x, ni=n, method="{method}", test="{test}", '
                         f'control=list(threshold=1e-12, maxiter=1000))')
            lines.append(f'emit_fit("{prefix}", f, n, "{measure}"); emit_riley("riley.{prefix}", f, n, "{measure}")')
        if name != "homogeneous":
            lines.append('g <- rma.glmm(measure="PLO", xi=x, ni=n)')
            lines.append(f'emit_fit("{name}.glmm", g, n, "PLO"); emit_riley("riley.{name}.glmm", g, n, "PLO")')
    return run_r("\n".join(lines))


@pytest.mark.r
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("transform, method, knha", VARIANTS)
def test_rma_agrees_with_metafor(metafor, dataset, transform, method, knha):
    """Every field with metafor's default prediction interval; the Riley interval with pi.type = "riley"."""
    ours = ma.pool_proportions(*DATASETS[dataset], transform, method, knha, pi_type="metafor")
    prefix = f"{dataset}.{transform}.{method}.{knha}"
    for field in FIELDS:
        assert ours[field] == pytest.approx(metafor[f"{prefix}.{field}"], abs=1e-7), field
    assert ours["i2"] / 100 == pytest.approx(metafor[f"{prefix}.i2"] / 100, abs=1e-7)
    riley = ma.pool_proportions(*DATASETS[dataset], transform, method, knha)
    for field in PI_FIELDS:
        assert riley[field] == pytest.approx(metafor[f"riley.{prefix}.{field}"], abs=1e-7), field


@pytest.mark.r
@pytest.mark.parametrize("dataset", ["heterogeneous", "sparse"])
def test_glmm_agrees_with_metafor(metafor, dataset):
    """ML by 7-point adaptive quadrature, as lme4 (via rma.glmm); lme4's optimiser stops at ~1e-5."""
    ours = ma.pool_proportions(*DATASETS[dataset], "logit", "GLMM", pi_type="metafor")
    for field in ["estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "proportion",
                  "proportion_ci_low", "proportion_ci_high"]:
        assert ours[field] == pytest.approx(metafor[f"{dataset}.glmm.{field}"], abs=5e-5), field
    assert ours["i2"] / 100 == pytest.approx(metafor[f"{dataset}.glmm.i2"] / 100, abs=5e-5)
    riley = ma.pool_proportions(*DATASETS[dataset], "logit", "GLMM")
    for field in PI_FIELDS:
        assert riley[field] == pytest.approx(metafor[f"riley.{dataset}.glmm.{field}"], abs=5e-5), field


@pytest.mark.r
def test_hazard_ratio_pooling_agrees_with_metafor():
    hr, low, high = [0.42, 0.54, 0.9], [0.21, 0.27, 0.5], [0.85, 1.08, 1.6]
    ours = ma.pool_log_hazard_ratios(hr, low, high)
    theirs = run_r(f"""
        yi <- log({r_vector(hr)}); sei <- (log({r_vector(high)}) - log({r_vector(low)})) / (2 * qnorm(0.975))
        emit_fit("hr", rma(yi = yi, sei = sei, method = "EE"))""")
    for field in ["estimate", "se", "ci_low", "ci_high", "q", "q_p"]:
        assert ours[field] == pytest.approx(theirs[f"hr.{field}"], abs=1e-9), field


@pytest.mark.parametrize("method", ma.TAU2_METHODS)
def test_a_single_study_is_its_own_estimate(method):
    fit = ma.pool_proportions([3], [20], method=method)
    assert fit["k"] == 1 and fit["tau2"] == 0 and fit["proportion"] == pytest.approx(3 / 20)
