"""Fault injection: break the build the way faulty machines and hurried users do, and check that the
error names the culprit, the exit code says so, and the last good book, notebooks and results survive.

A tiny project (two chapters, one page of front matter) is built once; every fault runs on a copy of it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from osteobook.paths import ROOT

OSTEOBOOK = Path(sys.executable).with_name("osteobook")
FRONT = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""
CHAPTER = FRONT + """# Tiny chapter

The rate is {glue:text}`rate`.

```{code-cell} ipython3
:tags: [parameters, remove-cell]
seed = 1
rate = 0.5
items = ["a"]
include_unverified = False
sleep = 0.0
results_path = "_results/tiny.json"
```

```{code-cell} ipython3
:tags: [remove-cell]
import os, pathlib, time
from myst_nb import glue
from osteobook.engine.results import save_results
glue("rate", rate, display=False)
pathlib.Path(os.environ["MARKER_DIR"], f"{os.getpid()}.kernel").write_text("running")
time.sleep(sleep)
save_results(results_path, {"twice": 2 * rate, "items": items})
```
"""
SPEC = """title: Tiny chapter
part: Tests
order: {order}
parameters:
  seed: {{type: int, default: 1, min: 0}}
  rate: {{type: float, default: 0.5, min: 0, max: 1}}
  items: {{type: list, default: [a], choices: [a, b]}}
  include_unverified: {{type: bool, default: false}}
  sleep: {{type: float, default: 0.0, min: 0, max: 120}}
"""
CONFIG = """title: Tiny book
only_build_toc_files: true
execute: {execute_notebooks: "off"}
bibtex_bibfiles: [book/references.bib]
html: {}
sphinx:
  config:
    suppress_warnings: ["mystnb.unknown_mime_type"]
"""
TOC = "format: jb-book\nroot: book/intro\nparts: []\n"
BIB = "@misc{tiny2026, title = {Tiny}, year = {2026}}\n"
REGISTRY = "files: {}\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def osteobook(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(OSTEOBOOK), *args], cwd=root, env=_env(root), capture_output=True, text=True,
                          timeout=timeout, check=False)


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "OSTEOBOOK_ROOT": str(root), "OSTEOBOOK_DATA_DIR": str(root / "cache"),
            "MARKER_DIR": str(root / "markers")}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the published book, the executed notebooks and the results, with its bytes."""
    build = root / "_build"
    return {str(p.relative_to(build)): p.read_bytes() for folder in ("html", "executed", "results")
            for p in sorted((build / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A tiny project built once, without faults."""
    root = tmp_path_factory.mktemp("good")
    _write(root, {"notebooks/tiny.md": CHAPTER, "notebooks/tiny.params.yaml": SPEC.format(order=1),
                  "notebooks/other.md": CHAPTER.replace("Tiny chapter", "Other chapter"),
                  "notebooks/other.params.yaml": SPEC.format(order=2).replace("Tiny chapter", "Other chapter"),
                  "_config.yml": CONFIG, "_toc.yml": TOC, "book/intro.md": "# Tiny book\n",
                  "book/references.bib": BIB, "data/registry.yaml": REGISTRY, "requirements.lock": "pinned==1\n"})
    for folder in ("cache", "markers"):
        (root / folder).mkdir()
    built = osteobook(root, "build")
    assert built.returncode == 0, built.stderr[-3000:]
    return root


@pytest.fixture
def project(good, tmp_path) -> Path:
    """A fresh copy of the good project for one fault."""
    copy = tmp_path / "project"
    shutil.copytree(good, copy, symlinks=True)
    shutil.rmtree(copy / "markers")
    (copy / "markers").mkdir()
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_a_cell_failing_after_save_results_leaves_the_last_good_outputs(project):
    before = snapshot(project)
    source = project / "notebooks" / "tiny.md"
    original = source.read_text()
    edit(source, 'save_results(results_path, {"twice": 2 * rate, "items": items})',
         'save_results(results_path, {"twice": 1024, "items": items})\nraise RuntimeError("after saving")')
    failed = osteobook(project, "build")
    assert failed.returncode == 2 and "chapter 'tiny'" in failed.stderr and "after saving" in failed.stderr
    assert snapshot(project) == before
    source.write_text(original)  # the revert: the last good outputs are current again, with good numbers
    reverted = osteobook(project, "build")
    assert reverted.returncode == 0 and "tiny           cached" in reverted.stderr
    assert json.loads((project / "_build/results/default/tiny.json").read_text())["twice"] == 1.0


def test_a_chapter_that_writes_no_results_is_refused(project):
    before = snapshot(project)
    edit(project / "notebooks" / "tiny.md", 'save_results(results_path, {"twice": 2 * rate, "items": items})', "")
    failed = osteobook(project, "build")
    assert failed.returncode == 2 and "did not write its results file" in failed.stderr
    assert snapshot(project) == before


def test_a_warning_in_the_html_build_keeps_the_last_good_book(project):
    before = snapshot(project)
    edit(project / "notebooks" / "tiny.md", "The rate is", "See {ref}`no-such-label`. The rate is")
    failed = osteobook(project, "build")
    assert failed.returncode == 2 and "jupyter-book build failed" in failed.stderr
    assert "the last good book" in failed.stderr
    after = snapshot(project)
    assert {k: v for k, v in after.items() if k.startswith("html")} == \
        {k: v for k, v in before.items() if k.startswith("html")}


def test_leftovers_of_interrupted_runs_are_cleaned(project):
    executed = project / "_build" / "executed" / "default"
    (executed / "tiny.running.ipynb").write_bytes(b"")  # a full disk left a 0-byte notebook
    (project / "_build" / "scratch" / "default" / "tiny").mkdir(parents=True)
    assert osteobook(project, "build", "--force", "--no-html").returncode == 0
    assert not (executed / "tiny.running.ipynb").exists()
    assert not list((project / "_build" / "scratch").rglob("*.ipynb"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _kernels(project: Path, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [int(p.stem) for p in (project / "markers").glob("*.kernel")]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no kernel started")


def _gone(pids: list[int], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


def test_killing_only_the_parent_leaves_no_workers_or_kernels(project):
    before = snapshot(project)
    build = subprocess.Popen([str(OSTEOBOOK), "run", "tiny", "--variant", "default", "-p", "sleep", "60"],
                             cwd=project, env=_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kernels = _kernels(project)
    os.kill(build.pid, signal.SIGKILL)  # as the OOM killer or `kill -9 PID` would
    build.wait()
    assert _gone(kernels), "a kernel outlived the build process"
    assert snapshot(project) == before


def test_ctrl_c_cancels_queued_chapters_and_stops_kernels(project):
    before = snapshot(project)
    for name in ("tiny", "other"):
        edit(project / "notebooks" / f"{name}.params.yaml", "default: 0.0", "default: 60.0")
    build = subprocess.Popen([str(OSTEOBOOK), "build", "--jobs", "1", "--no-html"], cwd=project,
                             env=_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kernels = _kernels(project)
    build.send_signal(signal.SIGINT)
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 2 and "interrupted" in stderr
    assert _gone(kernels)
    assert len(list((project / "markers").glob("*.kernel"))) == 1, "a queued chapter started after Ctrl-C"
    assert snapshot(project) == before


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "rate", ".nan"], "'rate' must be a finite number"),
    (["-p", "rate", "2"], "'rate' = 2.0 is out of range (allowed: 0 to 1)"),
    (["-p", "items", "[a, z]"], "'items' = 'z' is not allowed (allowed: 'a', 'b')"),
    (["-p", "items", "a"], "'items' must be list"),
    (["--variant", "../../../escaped"], "variant name '../../../escaped' is not allowed"),
])
def test_bad_parameters_name_the_parameter_and_allowed_values(project, args, message):
    before = snapshot(project)
    failed = osteobook(project, "run", "tiny", *args)
    assert failed.returncode == 2 and message in failed.stderr, failed.stderr[-2000:]
    assert snapshot(project) == before
    assert not (project.parent / "escaped").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("title: Tiny\npart: Tests\norder: 1\nparameters:\n  seed: {type: int, default: 1\n", "tiny.params.yaml, line"),
    ("title: Tiny\npart: Tests\norder: 1\nparameters:\n  seed: {type: string, default: x}\n",
     "parameter 'seed' needs a 'type'"),
    ("title: Tiny\npart: Tests\norder: 1\nparameters:\n  seed: {type: int}\n", "parameter 'seed' needs a 'type'"),
    ("title: Tiny\nparameters: {}\n", "missing key(s) ['part', 'order']"),
])
def test_malformed_specs_name_the_file_and_key(project, text, message):
    before = snapshot(project)
    (project / "notebooks" / "tiny.params.yaml").write_text(text)
    failed = osteobook(project, "build")
    assert failed.returncode == 2 and message in failed.stderr, failed.stderr[-2000:]
    assert snapshot(project) == before


def test_a_profile_with_a_yaml_error_names_its_file(project):
    (project / "profiles").mkdir()
    (project / "profiles" / "broken.yaml").write_text("tiny: {rate: 0.2\n")
    failed = osteobook(project, "build", "--profile", "broken")
    assert failed.returncode == 2 and "broken.yaml, line" in failed.stderr


def test_a_missing_data_cache_is_named_not_created(project):
    env = {**_env(project), "OSTEOBOOK_DATA_DIR": str(project / "no-such-cache")}
    failed = subprocess.run([str(OSTEOBOOK), "build"], cwd=project, env=env, capture_output=True, text=True,
                            check=False)
    assert failed.returncode == 2 and "no-such-cache was not found" in failed.stderr
    assert not (project / "no-such-cache").exists()


# ---- faults of the real project's data layer, on scratch copies -------------------------------------------

def test_a_folder_where_a_data_file_belongs_is_named(tmp_path, monkeypatch):
    from osteobook.datasets import registry
    from osteobook.errors import DataError
    (tmp_path / "isg_os2" / "metadata.txt").mkdir(parents=True)
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match="metadata.txt is a folder, but the registry declares"):
        registry.fetch("isg_os2/metadata.txt")


def test_a_read_only_cache_is_named(tmp_path, monkeypatch):
    from osteobook.datasets import registry
    from osteobook.errors import DataError
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(registry.os, "access", lambda path, mode: False)  # root ignores chmod: simulate it
    with pytest.raises(DataError, match="the cache is read-only") as err:
        registry.fetch("isg_os2/metadata.txt")
    assert "Without internet" not in str(err.value)


@pytest.mark.parametrize("value", ["no", "0", "N/A", "yes"])
def test_a_boolean_column_accepts_only_true_or_false(tmp_path, value):
    from osteobook.datasets import trials
    from osteobook.errors import DataError
    for name in ("trial_arms.csv", "trial_outcomes.csv", "benchmarks.csv"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    lines = (tmp_path / "trial_arms.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",prospective trial,false,", f",prospective trial,{value},")
    (tmp_path / "trial_arms.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"line 2: column 'randomised': value '{value}' fails is true or false"):
        trials.load_arms(tmp_path)


def test_every_bad_line_is_reported_once_with_all_its_columns(tmp_path):
    from osteobook.datasets import trials
    from osteobook.errors import DataError
    for name in ("trial_arms.csv", "trial_outcomes.csv", "benchmarks.csv"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    lines = (tmp_path / "trial_outcomes.csv").read_text().splitlines()
    header = lines[0].split(",")
    bad = [line.replace(",crude,", ",guessed,", 1) for line in lines[1:] if ",crude," in line]
    (tmp_path / "trial_outcomes.csv").write_text("\n".join([lines[0], *bad]) + "\n")
    with pytest.raises(DataError) as err:
        trials.load_outcomes(tmp_path)
    message = str(err.value)
    assert message.count("line 2:") == 1 and "column 'estimator'" in message and "estimator" in header
    shown = min(len(bad), 20)
    assert message.count("\n  line ") == shown
    if len(bad) > 20:
        assert f"and {len(bad) - 20} more line(s)" in message


def test_a_full_disk_names_the_chapter_and_the_path(good, tmp_path, monkeypatch):
    """ENOSPC while the outputs are written: the chapter and the path are named, nothing is replaced."""
    from osteobook import paths
    from osteobook.engine import execute
    from osteobook.engine.params import load_chapter
    from osteobook.errors import ChapterFailed
    copy = tmp_path / "project"
    shutil.copytree(good, copy, symlinks=True)
    monkeypatch.setattr(paths, "BUILD", copy / "_build")
    monkeypatch.setenv("MARKER_DIR", str(copy / "markers"))
    job = execute.make_job(load_chapter("tiny", copy / "notebooks"), {}, "default")
    before = snapshot(copy)

    def no_space(path, results):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(execute, "save_results", no_space)
    with pytest.raises(ChapterFailed, match=r"chapter 'tiny' \(default\): could not write its outputs: "
                                            r"No space left on device \(.*results.json\)"):
        execute.run(job)
    assert snapshot(copy) == before


def test_the_cache_key_follows_the_pinned_packages(good, tmp_path, monkeypatch):
    from osteobook.engine import execute
    from osteobook.engine.params import load_chapter
    job = execute.make_job(load_chapter("tiny", good / "notebooks"), {}, "default")
    lock = tmp_path / "requirements.lock"
    lock.write_text("pandas==3.1.1\n")
    monkeypatch.setattr(execute, "LOCK_FILE", lock)
    first = execute.input_key(job)
    lock.write_text("pandas==3.1.2\n")
    assert execute.input_key(job) != first


def test_missing_browser_test_dependency_fails_loudly():
    code = ("import sys, pytest; sys.modules['playwright'] = None; sys.exit(pytest.main(['-q', '-p', 'no:randomly', "
            "'-p', 'no:xdist', 'tests/book/test_html.py', '-k', 'renders_without_errors and intro']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode != 0 and "the browser tests need playwright" in out.stdout
    assert "skipped" not in out.stdout
