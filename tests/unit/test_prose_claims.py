"""No conclusion next to a non-significant result, and no typed conclusion, in any chapter's prose.

The rule (documented here, applied to every chapter: the narrative of all `notebooks/*.md` and the generated
glue text):

1. A sentence or clause (split at ". ", "? ", "! " and "; ") is **non-significant** when it reports
   - a p- or q-value (p, q, "p (Holm)", "adjusted p", "p-value at") at or above the level α, or
   - a ratio (HR, OR, RR, hazard or odds ratio) whose 95% CI contains 1.
   α is the level the sentence states ("at the 2.5% level", "α = 0.1", "q < 0.1", "FDR 0.1", "below the 0.05
   threshold"), else 0.05.
2. A non-significant sentence must not state an **affirmative conclusion** — significant(ly), confirm(s),
   prove(s), demonstrate(s), establish(es), benefit, superior, effective, improve(s), shows that — unless the
   word is negated within the five words before it (not, no, non-, never, neither, nor, without, none, cannot,
   fails, missed, lacks, n't), and must not claim **equivalence** — no difference / effect / association /
   impact, do(es) not differ, equivalent, the same as, no more (or less) … than, unaffected — unless the
   sentence qualifies it as a test result (significant, evidence, detect, power, could be missed, cannot rule
   out, inconclusive, "below α", "at the 5% level").
3. In the **typed** narrative (the Markdown a person wrote, outside `{glue:md}` generated text, code cells,
   questions and quotations), "confirm(s/ed)", an unnegated "significant(ly)", "proves"/"demonstrates" and
   "benefit" (other than the endpoint name "clinical benefit"; not negated; not a generic mention such as
   "a significant test") do not appear at all: a conclusion about the
   book's own results is generated from those results with its threshold (`osteobook.prose.Markdown` glued
   with `{glue:md}`), so it cannot outlive a change in the data. `TYPED_ALLOWED` lists the few sentences
   where such a word is not a conclusion about the book's results (a definition, a mechanism, a source's own
   statement), each with its reason.

Sentences of other chapters that break rule 2 today are listed in `PENDING`, each with the words that
identify it: the test fails if a new one appears and also once a listed one is fixed (so the list shrinks).

Rules 1–2 are checked on the rendered text (the narrative with every glue value pasted in, from the executed
notebooks of the last build) and on every generated Markdown glue value; rule 3 on the sources alone.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from osteobook.engine.params import chapter_names
from osteobook.paths import NOTEBOOKS, variant_dir

ALPHA = 0.05
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*(\"“‘_{])|;\s+")
P_VALUE = re.compile(r"\b(?:[pq]|p-value|q-value)(?:\s*\([^)]{0,20}\))?\s*(=|≥|>|<|≤)\s*(\d*\.?\d+(?:e-?\d+)?)"
                     r"|\bp-value (?:at|of) (\d*\.?\d+(?:e-?\d+)?)")
RATIO_CI = re.compile(r"\b(?:HR|OR|RR|hazard ratio|odds ratio)\s*(?:=|of|:)?\s*(\d*\.\d+)(?:\s+per(?:\s+\w+){1,2})?"
                      r"\s*[,(;]\s*(?:95% CI[:,=]?\s*)?(\d*\.\d+)\s*(?:–|-|to)\s*(\d*\.\d+)", re.IGNORECASE)
STATED_LEVEL = re.compile(r"(\d+(?:\.\d+)?)\s*% level|\b(?:α|alpha)\s*=\s*(\d*\.\d+)|\b[pq]\s*<\s*(\d*\.\d+)"
                          r"|\bFDR\s+(\d*\.\d+)|below the (\d*\.\d+) threshold")
AFFIRMATIVE = re.compile(r"\b(significant(?:ly)?|confirm(?:s|ed)?|prove[sdn]?|demonstrat(?:e|es|ed)|"
                         r"establish(?:es|ed)?|benefit(?:s)?|superior|effective(?:ly)?|improve[sd]?|shows? that)\b",
                         re.IGNORECASE)
NEGATION = re.compile(r"\b(not|no|non|never|neither|nor|without|none|cannot|fail\w*|miss\w*|lack\w*)\b|n't\b|non-$",
                      re.IGNORECASE)
EQUIVALENCE = re.compile(r"\bno (?:\w+ )?(?:difference|effect|association|impact)\b|\b(?:do|does|did) not differ\b|"
                         r"\bequivalent\b|\bthe same as\b|\bno (?:more|less) \w+(?: [\w-]+){0,4} than\b|\bunaffected\b", re.IGNORECASE)
QUALIFIED = re.compile(r"significan|evidence|detect|power|could be missed|cannot rule out|inconclusive|"
                       r"\b(?:below|at) (?:α|alpha|the [\d.]+% level)", re.IGNORECASE)
TYPED = re.compile(r"\b(confirm(?:s|ed)?|significant(?:ly)?|proves|demonstrates|benefit)\b", re.IGNORECASE)
# (chapter, words of the sentence) -> why the word there is not a typed conclusion about the book's results
TYPED_ALLOWED = {
    ("caf", "It confirms that apCAFs"): "what a source paper's abstract states (a claims audit), not a result here",
    ("ferroptosis", "time integration confirms"): "a numerical check of the model's steady states",
    ("ici", "**supported** if the chapter's test is significant"): "the definition of the verdict rule",
    ("mtor", "the short benefit of sorafenib alone"): "the trial authors' rationale, quoted",
    ("mtor", "whether it predicts benefit"): "an open question, not a finding",
}

# (chapter, words of the sentence): equivalence claims next to non-significant results in chapters this
# change does not own, reported for rewording ("did not differ detectably", "no significant difference").
PENDING: set[tuple[str, str]] = set()


# ---- the rule -------------------------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    """Sentences and clauses of running text: list items apart, line breaks within an item joined."""
    items = re.split(r"\n\s*(?:[-*+]|\d+\.)\s+", "\n" + text)
    return [s.strip() for item in items for s in SENTENCE.split(re.sub(r"\s*\n\s*", " ", item)) if s.strip()]


def level(sentence: str) -> float:
    match = STATED_LEVEL.search(sentence)
    if not match:
        return ALPHA
    percent, *others = match.groups()
    return float(percent) / 100 if percent else float(next(v for v in others if v))


def non_significant(sentence: str) -> list[str]:
    """The reported results in `sentence` that are not significant at its level (rule 1)."""
    alpha, found = level(sentence), []
    for match in P_VALUE.finditer(sentence):
        sign, value, at = match.groups()
        number = float(value if value is not None else at)
        if (sign in ("=", "≥", ">") or at is not None) and number >= alpha:
            found.append(match.group(0))
    for match in RATIO_CI.finditer(sentence):
        low, high = float(match.group(2)), float(match.group(3))
        if low <= 1 <= high:
            found.append(match.group(0))
    return found


def negated(sentence: str, start: int) -> bool:
    before = sentence[:start].split()[-5:]
    return bool(NEGATION.search(" ".join(before))) or sentence[max(0, start - 4):start].lower() == "non-"


def overclaims(sentence: str) -> list[str]:
    """Conclusion words that rule 2 forbids in `sentence`, if it is non-significant (rule 1)."""
    if not non_significant(sentence):
        return []
    words = [m.group(0) for m in AFFIRMATIVE.finditer(sentence)
             if not negated(sentence, m.start()) and "clinical benefit" not in sentence[m.start() - 9:m.end()].lower()]
    if not QUALIFIED.search(sentence):
        words += [m.group(0) for m in EQUIVALENCE.finditer(sentence)]
    return words


@pytest.mark.parametrize("sentence, flagged", [
    ("Two randomised trials confirm a PFS benefit (OLIE HR 0.54, 95% CI 0.27–1.08).", True),
    (("OLIE, lenvatinib + IE vs IE, HR 0.54 (95% CI 0.27 to 1.08; p = 0.081): not significant at the two-sided "
     "5% level."), False),
    ("SARC024 shows longer PFS at the 5% level (HR 0.42, 95% CI 0.21 to 0.85).", False),
    ("Osteosarcoma lines are no more sensitive than other lines (smallest Holm-adjusted p = 0.17).", True),
    ("Osteosarcoma lines are not significantly more sensitive (Holm-adjusted p ≥ 0.05; smallest 0.17).", False),
    ("The score is significantly associated with survival (p = 0.21).", True),
    ("The difference is significant (q = 0.07 < 0.1), i.e. at FDR 0.1.", False),
    ("There is no difference between the arms (p = 0.4).", True),
    ("The test for a difference gives p = 0.3: no significant difference at the two-sided 5% level.", False),
    ("The drug improves response (p = 0.002).", False),
    ("It did not differ with metastasis at diagnosis (odds ratio 0.99 per SD, 95% CI 0.60–1.63).", True),
    ("Fisher p = 0.052, no difference below α = 0.05.", False),
    (("In the screen, lines are no more sensitive to VEGFR-targeting TKIs than other lines (smallest Holm-adjusted "
     "p = 0.17)."), True),
])
def test_the_rule_on_examples(sentence, flagged):
    assert bool(overclaims(sentence)) == flagged


# ---- the book ---------------------------------------------------------------------------------------------

def narrative(name: str) -> str:
    """A chapter's Markdown without its code cells and directive options (the prose a reader sees)."""
    text = (NOTEBOOKS / f"{name}.md").read_text().split("\n---\n", 1)[-1]
    text = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.DOTALL)
    text = re.sub(r"^:[\w-]+:.*$", "", text, flags=re.MULTILINE)  # directive options (:alt:, :name:, :tags:)
    text = re.sub(r"\{(?:term|doc)\}`([^`<]+?)\s*(?:<[^>]*>)?`", r"\1", text)  # links: their text
    text = re.sub(r"\{(?:footcite|cite)(?::\w+)?\}`[^`]*`|\{numref\}`[^`]*`", "", text)  # citations, figure refs
    return re.sub(r"^[`:]{3,}.*$", "", text, flags=re.MULTILINE)  # fences


def typed_conclusions(name: str) -> list[str]:
    """Sentences of the typed narrative that use a conclusion word (rule 3)."""
    found = []
    for paragraph in re.split(r"\n\s*\n", narrative(name)):
        for sentence in sentences(paragraph):
            plain = re.sub(r"\{glue(?::\w+)?\}`[^`]*`|\{\w+(?::\w+)?\}`[^`]*`|`[^`]*`", "⟨…⟩", sentence)
            plain = re.sub(r"[\"“][^\"”]*[\"”]", "⟨quote⟩", plain)
            if plain.rstrip(" *_)").endswith("?"):
                continue
            for match in TYPED.finditer(plain):
                word = match.group(0).lower()
                if negated(plain, match.start()) or re.search(r"\ban?\s+$", plain[:match.start()]):
                    continue  # negated, or a generic mention ("a significant test")
                if word == "benefit" and "clinical benefit" in plain[max(0, match.start() - 9):match.end()].lower():
                    continue
                if any(chapter == name and words in sentence for chapter, words in TYPED_ALLOWED):
                    continue
                found.append(sentence)
    return found


@pytest.mark.parametrize("name", chapter_names())
def test_no_typed_conclusions(name):
    assert typed_conclusions(name) == []


def test_allowed_sentences_still_exist():
    """An allowance whose sentence is gone must be removed, so the list cannot grow stale."""
    for chapter, words in TYPED_ALLOWED:
        assert words in (NOTEBOOKS / f"{chapter}.md").read_text(), (chapter, words)


def glue_values(name: str) -> dict[str, tuple[str, str]]:
    """Every glued value of a chapter's executed notebook: name -> (mime kind, text)."""
    path = variant_dir("executed", "default") / f"{name}.ipynb"
    if not path.exists():
        pytest.fail(f"{path} is missing: run the chapter (osteobook run {name} --variant default) or build the book")
    values = {}
    for cell in json.loads(Path(path).read_text())["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            data = output.get("data", {})
            if not record:
                continue
            for kind in ("markdown", "plain"):
                text = data.get(f"application/papermill.record/text/{kind}")
                if text is not None:
                    values[record["name"]] = (kind, "".join(text) if isinstance(text, list) else text)
                    break
    return values


def paste(text: str, values: dict[str, tuple[str, str]]) -> str:
    """The narrative as a reader sees it: `{glue:text}` values formatted, `{glue:md}` text pasted."""
    def value(match: re.Match) -> str:
        role, body = match.group(1), match.group(2)
        key, _, spec = body.partition(":")
        _kind, raw = values.get(key, ("plain", f"⟨{key}⟩"))
        if role == "text" and spec:
            try:
                return format(float(raw), spec)
            except ValueError:
                return raw.strip("'\"")
        return raw.strip("'\"")
    return re.sub(r"\{glue(?::(\w+))?\}`([^`]+)`", value, text)


@pytest.mark.book
@pytest.mark.parametrize("name", chapter_names())
def test_no_conclusion_next_to_a_non_significant_result(name):
    values = glue_values(name)
    rendered = paste(narrative(name), values)
    texts = [sentence for paragraph in re.split(r"\n\s*\n", rendered) for sentence in sentences(paragraph)]
    texts += [sentence for kind, text in values.values() if kind == "markdown" for sentence in sentences(text)]
    offences = [sentence for sentence in texts if overclaims(sentence)]
    pending = {words for chapter, words in PENDING if chapter == name}
    new = [(sentence, overclaims(sentence)) for sentence in offences if not any(w in sentence for w in pending)]
    assert new == []
    fixed = [words for words in pending if not any(words in sentence for sentence in offences)]
    assert fixed == [], "reworded: remove these from PENDING"
