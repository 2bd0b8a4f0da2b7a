"""Two executions with the same parameters give byte-identical results files.

The second execution is the notebook check (`nbval`) that `make test` runs over the executed chapters: each
re-run writes its results where the build's kernel wrote them (the scratch folder named in the notebook's
parameters). This test runs after it (`make test`: marker `after_nbval`) and compares that file, byte for
byte, with the build's results file without the two blocks the build adds (`parameters`, `findings`).
"""
import json

import nbformat
import pytest

from osteobook.engine import execute
from osteobook.engine.params import chapter_names, load_chapter
from osteobook.engine.results import save_results
from osteobook.paths import results_path

pytestmark = [pytest.mark.book, pytest.mark.after_nbval]


def rerun_results(name: str):
    """The results file the notebook check's re-run of `name` wrote (from its parameters cell)."""
    job = execute.make_job(load_chapter(name), {}, "default")
    notebook = nbformat.read(job.executed, as_version=4)
    cell = next(c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", []))
    relative = next(line.split("=", 1)[1].strip().strip("\"'") for line in cell.source.splitlines()
                    if line.startswith("results_path"))
    return job, (job.executed.parent / relative).resolve()


@pytest.mark.parametrize("name", chapter_names())
def test_rerun_reproduces_results(name, tmp_path):
    built = results_path(name, "default")
    job, rerun = rerun_results(name)
    assert rerun.exists() and rerun.stat().st_mtime > job.executed.stat().st_mtime, \
        f"{rerun} is missing or older than the build: run the notebook check first (make test)"
    results = json.loads(built.read_text())
    results.pop("parameters")
    results.pop("findings", None)
    expected = save_results(tmp_path / "built.json", results).read_bytes()
    assert rerun.read_bytes() == expected, f"{name}: a re-run changed its results"
