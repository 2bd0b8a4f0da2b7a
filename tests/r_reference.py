"""Run R (metafor) on the same data as the Python code, for the comparisons marked `@pytest.mark.r`.

These comparisons must always run: a missing Rscript or metafor fails the test, it is never skipped
(CI installs r-cran-metafor, which brings lme4 for `rma.glmm`).
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

# Prints every number of a fitted model as "<prefix>.<name> <value>" lines.
R_HELPERS = r"""
suppressPackageStartupMessages(library(metafor))
emit <- function(prefix, values) {
  for (name in names(values)) cat(sprintf("%s.%s %.15g\n", prefix, name, as.numeric(values[[name]])))
}
emit_fit <- function(prefix, fit, ni = NULL, measure = "PLO") {
  p <- predict(fit)
  emit(prefix, list(estimate = fit$b[1], se = fit$se, ci_low = fit$ci.lb, ci_high = fit$ci.ub,
                    pi_low = p$pi.lb, pi_high = p$pi.ub, tau2 = fit$tau2, i2 = fit$I2, k = fit$k))
  if (inherits(fit, "rma.uni")) emit(prefix, list(q = fit$QE, q_p = fit$QEp))
  if (!is.null(ni)) {
    back <- if (measure == "PFT") predict(fit, transf = transf.ipft.hm, targs = list(ni = ni)) else
      predict(fit, transf = transf.ilogit)
    emit(prefix, list(proportion = back$pred, proportion_ci_low = back$ci.lb, proportion_ci_high = back$ci.ub,
                      proportion_pi_low = back$pi.lb, proportion_pi_high = back$pi.ub))
  }
}
"""


def r_vector(values) -> str:
    """A Python sequence as an R numeric vector literal."""
    return "c(" + ", ".join(repr(float(v)) for v in values) + ")"


def run_r(script: str) -> dict[str, float]:
    """Run `script` (after the helpers) with Rscript and parse its 'name value' lines."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.fail("Rscript is not installed: the metafor comparisons cannot run (install r-base and r-cran-metafor)")
    done = subprocess.run([rscript, "--vanilla", "-e", R_HELPERS + script], capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode:
        pytest.fail(f"R failed (is metafor/lme4 installed?):\n{done.stderr[-3000:]}")
    values = {}
    for line in done.stdout.splitlines():
        name, _, number = line.partition(" ")
        values[name] = float(number)
    return values
