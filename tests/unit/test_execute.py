"""The execution engine on a tiny throw-away chapter."""
import json

import pytest

from osteobook import paths
from osteobook.engine import execute
from osteobook.engine.params import load_chapter

CHAPTER = """---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---
# Tiny

```{{code-cell}} ipython3
:tags: [parameters]
seed = 1
fail = False
results_path = "out.json"
```

```{{code-cell}} ipython3
import json, pathlib
if fail:
    raise ValueError("boom {marker}")
pathlib.Path(results_path).write_text(json.dumps({{"twice": 2 * seed}}))
```
"""
SPEC = """title: Tiny
part: Tests
order: 1
parameters:
  seed: {type: int, default: 1, min: 0, help: seed}
  fail: {type: bool, default: false, help: raise in the second cell}
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "BUILD", tmp_path / "_build")
    (tmp_path / "tiny.md").write_text(CHAPTER.format(marker="in tiny"))
    (tmp_path / "tiny.params.yaml").write_text(SPEC)
    return load_chapter("tiny", tmp_path)


def test_runs_caches_and_reruns_on_change(tiny):
    job = execute.make_job(tiny, {"seed": 4}, "t")
    assert execute.run_all([job]) == {"tiny": "executed"}
    assert json.loads(job.results.read_text()) == {"twice": 8, "parameters": {"seed": 4, "fail": False}}
    assert execute.run_all([job]) == {"tiny": "cached"}
    assert not execute.is_current(execute.make_job(tiny, {"seed": 5}, "t"))
    tiny.source.write_text(tiny.source.read_text() + "\nEdited.\n")
    assert not execute.is_current(job)


def test_failure_names_chapter_cell_and_keeps_last_good(tiny):
    good = execute.make_job(tiny, {}, "t")
    execute.run_all([good])
    before = good.executed.read_bytes()
    with pytest.raises(execute.ChapterFailed) as err:
        execute.run_all([execute.make_job(tiny, {"fail": True}, "t")])
    message = str(err.value)
    assert "chapter 'tiny'" in message and "cell" in message and "ValueError: boom in tiny" in message
    assert good.executed.read_bytes() == before
