"""Every significant result in a results file is reported on its page or explicitly set aside.

A chapter's spec (`notebooks/<name>.params.yaml`) lists under `findings:` where its significant results are
reported: each entry has `match` (a pattern over result paths such as `isg/correlations/*`), `what` (the
readers' words for them) and either `shown` (where the page reports them, in readers' words, with `glue`:
the page's glue keys that carry them, or `page_text`: words of the table that shows them) or `set_aside`
(why the page does not discuss them). After a run the engine scans the results file
(`significant`); a significant result no entry matches fails the chapter, so a new finding cannot slip
through unmentioned. The accounting is written into the results file and shown under the chapter's title.

A result is significant when its test value is below the chapter's `alpha` (0.05 if it has none); where
a result carries an adjusted value (`q`, `q_value`, `p_holm`: a probability no smaller than the raw p), that
one decides. Model checks count too:
a proportional-hazards violation (`ph_p`, `ph_global_p`) or heterogeneity (`q_p`) is a result to report.
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from ..errors import ParameterError

RAW = ("p", "p_value", "p_mannwhitney", "p_welch", "fisher_p", "alone_p_value", "observed_p", "p_without",
       "p_matched", "p_uniform", "p_between", "p_combo_higher")
ADJUSTED = ("q", "q_value", "p_holm")
CHECKS = ("ph_p", "ph_global_p", "q_p")
EVIDENCE = ("glue", "page_text")


def significant(results: dict[str, Any], alpha: float) -> list[dict[str, Any]]:
    """Every significant test value in `results` (outside its `parameters` and `findings`), as
    {"path": "a/b/0/key", "key": key, "value": value}, in file order."""
    found: list[dict[str, Any]] = []

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            raw = [node[key] for key in RAW if number(node.get(key))]
            # an adjusted p-value is a probability no smaller than a raw p; a `q` beside `q_p`, or above 1, is
            # Cochran's Q (its p-value `q_p` is the model check)
            adjusted = [key for key in ADJUSTED if number(node.get(key)) and min(raw, default=0) <= node[key] <= 1
                        and not (key == "q" and "q_p" in node)]
            deciding = adjusted if adjusted and raw else []
            keys = deciding or [key for key in (*RAW, *adjusted) if number(node.get(key))]
            for key in (*keys, *CHECKS):
                if number(node.get(key)) and node[key] < alpha:
                    found.append({"path": "/".join([*path, key]), "key": key, "value": float(node[key])})
            for key, value in node.items():
                if not path and key in ("parameters", "findings"):
                    continue
                walk(value, [*path, str(key)])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, str(index)])

    walk(results, [])
    return found


def check_declarations(chapter: str, entries: Any) -> tuple[dict[str, Any], ...] | None:
    """The spec's `findings:` list, checked (None when the spec has none: `tests/book/test_findings.py`
    requires every chapter to declare it)."""
    if entries is None:
        return None
    where = f"notebooks/{chapter}.params.yaml, findings"
    if not isinstance(entries, list):
        raise ParameterError(f"{where}: expected a list of entries with match, what and shown or set_aside")
    for number, entry in enumerate(entries, 1):
        keys = set(entry) if isinstance(entry, dict) else set()
        evidence = {"glue", "page_text"} & keys
        if not {"match", "what"} <= keys or len({"shown", "set_aside"} & keys) != 1 \
                or ("shown" in keys) != (len(evidence) == 1) or keys - {"match", "what", "shown", "set_aside", *EVIDENCE}:
            raise ParameterError(f"{where}, entry {number}: needs 'match', 'what' and either 'shown' (where, in "
                                 f"readers' words) with 'glue' (the page's glue keys) or 'page_text' (words of the "
                                 f"table that shows them), or 'set_aside' (the reason); found {entry!r}")
        if entry["match"].strip("*/") == "":
            raise ParameterError(f"{where}, entry {number}: match {entry['match']!r} would cover every result; "
                                 "name the results it covers")
    return tuple(entries)


def account(chapter: str, results: dict[str, Any], entries: tuple[dict[str, Any], ...] | None,
            alpha: float) -> list[dict[str, Any]] | None:
    """Each significant result with the first entry that matches it; raises if any is unaccounted for
    (None when the chapter declares no findings)."""
    if entries is None:
        return None
    accounted, missing = [], []
    for finding in significant(results, alpha):
        entry = next((e for e in entries if fnmatchcase(finding["path"], e["match"])), None)
        if entry is None:
            missing.append(finding)
        else:
            accounted.append({**finding, "what": entry["what"],
                              **{key: entry[key] for key in ("shown", "set_aside", *EVIDENCE) if key in entry}})
    if missing:
        listed = "; ".join(f"{f['path']} = {f['value']:.3g}" for f in missing[:10])
        raise ParameterError(
            f"chapter {chapter!r}: {len(missing)} significant result(s) (below alpha = {alpha:g}) are neither "
            f"reported nor set aside: {listed}{' …' if len(missing) > 10 else ''}. Add an entry under `findings:` "
            f"in notebooks/{chapter}.params.yaml (match, what, and shown or set_aside).")
    return accounted


def findings_box(accounted: list[dict[str, Any]] | None, alpha: float) -> str:
    """A collapsed admonition: how many significant results the page has, grouped, and where each group is
    reported or why it is set aside."""
    if not accounted:
        return ""
    groups: dict[tuple[str, str, str], int] = {}
    for finding in accounted:
        key = (finding["what"], "shown" if "shown" in finding else "set aside",
               finding.get("shown") or finding.get("set_aside"))
        groups[key] = groups.get(key, 0) + 1
    rows = [f"| {what} | {count} | {kind}: {text} |".replace("\n", " ") for (what, kind, text), count in groups.items()]
    return "\n".join([
        ":::{admonition} Significant results on this page",
        ":class: dropdown findings-box",
        "",
        (f"Every test result of this chapter below α = {alpha:g} (after the multiple-testing adjustment where "
        "one applies, and model checks included) is reported on the page or set aside here, with the reason. "
        "The build fails if a new one appears unaccounted for."),
        "",
        "| results | significant | where |",
        "|---|---:|---|",
        *rows,
        ":::",
    ])
