"""The curated risk-of-bias table `data/risk_of_bias.csv`: one row per trial × domain.

Randomised trials are rated with RoB 2 (Sterne et al. 2019; five domains, judged low / some concerns /
high) for their primary outcome as the effect of assignment; single-arm and non-randomised prospective
trials with the eight MINORS items for non-comparative studies (Slim et al. 2003; 0 = not reported,
1 = reported but inadequate, 2 = reported and adequate). `unknown` is a judgment of its own: the text
that was read answers none of the domain's questions. Every other judgment rests on a verbatim quote;
every row gives its reason. Tools, domains and judgments come from the fixed vocabularies below, and a
bad row stops with the file, CSV line, column and the values allowed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..paths import DATA
from .curated import read_table, source_columns

ROB_FILE = DATA / "risk_of_bias.csv"
UNKNOWN = "unknown"
DOMAINS = {
    "RoB 2": ["D1 randomisation process", "D2 deviations from intended interventions", "D3 missing outcome data",
              "D4 measurement of the outcome", "D5 selection of the reported result"],
    "MINORS": ["MINORS 1 clearly stated aim", "MINORS 2 inclusion of consecutive patients",
               "MINORS 3 prospective collection of data", "MINORS 4 endpoints appropriate to the aim",
               "MINORS 5 unbiased assessment of the endpoint", "MINORS 6 follow-up period appropriate",
               "MINORS 7 loss to follow-up < 5%", "MINORS 8 prospective calculation of the study size"],
}
JUDGMENTS = {"RoB 2": ["low", "some concerns", "high", UNKNOWN], "MINORS": ["2", "1", "0", UNKNOWN]}
ALL_DOMAINS = [d for domains in DOMAINS.values() for d in domains]
ALL_JUDGMENTS = sorted({j for judgments in JUDGMENTS.values() for j in judgments})


def _source_columns() -> dict[str, pa.Column]:
    """The shared source columns, except that an `unknown` row may have no quote (checked row-wise below)."""
    columns = source_columns()
    columns["quote"] = pa.Column(str, nullable=True)
    return columns


def _allowed(column: str, vocabulary: dict[str, list[str]]):
    def check(df: pd.DataFrame) -> pd.Series:
        return df.apply(lambda r: r[column] in vocabulary.get(r["tool"], []), axis=1)
    return check


SCHEMA = pa.DataFrameSchema({
    "trial_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$")),
    "tool": pa.Column(str, pa.Check.isin(list(DOMAINS))),
    "domain": pa.Column(str, pa.Check.isin(ALL_DOMAINS)),
    "judgment": pa.Column(str, pa.Check.isin(ALL_JUDGMENTS)),
    "outcome": pa.Column(str, pa.Check.str_length(min_value=1)),
    "reason": pa.Column(str, pa.Check.str_length(min_value=10)),
    **_source_columns(),
}, checks=[
    pa.Check(_allowed("domain", DOMAINS), element_wise=False,
             name="domain belongs to the row's tool (RoB 2: D1-D5; MINORS: items 1-8)"),
    pa.Check(_allowed("judgment", JUDGMENTS), element_wise=False,
             name="judgment allowed for the tool (RoB 2: low/some concerns/high/unknown; MINORS: 2/1/0/unknown)"),
    pa.Check(lambda df: (df["judgment"] == UNKNOWN) | (df["quote"].fillna("").str.len() > 0),
             name="a judgment other than unknown quotes the sentence it rests on"),
    pa.Check(lambda df: (df["judgment"] == UNKNOWN) | (df["status"] != "unverified"),
             name="a judgment other than unknown is verified or secondary, never unverified"),
    pa.Check(lambda df: ~df.duplicated(["trial_id", "domain"]), name="one row per trial and domain"),
], strict=True, coerce=True)


def load_risk_of_bias(path: Path = ROB_FILE) -> pd.DataFrame:
    """Every risk-of-bias row (unknown judgments included: they are judgments, not missing data)."""
    table = read_table(path, SCHEMA, include_unverified=True)
    return table.assign(quote=table["quote"].fillna(""))


def incomplete_trials(table: pd.DataFrame) -> dict[str, list[str]]:
    """Trials whose rows do not cover every domain of their tool: trial -> missing domains."""
    missing = {}
    for (trial, tool), rows in table.groupby(["trial_id", "tool"]):
        gaps = [d for d in DOMAINS[tool] if d not in set(rows["domain"])]
        if gaps:
            missing[trial] = gaps
    return missing
