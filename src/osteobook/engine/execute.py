"""Execute chapters with papermill: validated parameters, a content cache, parallel workers.

A chapter is re-executed only when its inputs change (see `input_key`): the notebook source, its
resolved parameters, the registry checksums of the data it reads, the curated tables in `data/`, the
package modules it imports, or the pinned package versions. A failing chapter stops with its name, cell and traceback; its previous executed
notebook (and so the last good HTML) is left untouched.
"""
from __future__ import annotations

import ast
import contextlib
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..datasets import registry
from ..errors import ChapterFailed, ParameterError
from ..paths import DATA, ROOT, results_path, variant_dir
from . import alt_text, findings
from .params import Chapter, resolve
from .results import load_results, save_results

DEFAULT_ALPHA = 0.05  # the significance level of a chapter that declares no `alpha` (engine.findings)

KERNEL = "python3"
PACKAGE = Path(__file__).resolve().parents[1]  # the installed `osteobook` package
LOCK_FILE = ROOT / "requirements.lock"
# the code of a MyST code cell (metadata lines such as `:tags:` are not Python, so they are dropped)
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Job:
    chapter: Chapter
    parameters: dict[str, Any]
    variant: str

    @property
    def executed(self) -> Path:
        return variant_dir("executed", self.variant) / f"{self.chapter.name}.ipynb"

    @property
    def key_file(self) -> Path:
        return self.executed.with_suffix(".key")

    @property
    def results(self) -> Path:
        return results_path(self.chapter.name, self.variant)

    @property
    def scratch(self) -> Path:
        """Where a running chapter writes; emptied before and after every run."""
        return variant_dir("scratch", self.variant) / self.chapter.name


def make_job(chapter: Chapter, overrides: dict[str, Any], variant: str) -> Job:
    return Job(chapter, resolve(chapter, overrides), variant)


def input_key(job: Job) -> str:
    """Hash of everything that can change a chapter's output.

    The notebook source, its resolved parameters, the registry checksums of its data, the curated
    tables in `data/`, the package modules the chapter imports (directly or through other modules)
    and the pinned package versions (`requirements.lock`).
    """
    digest = hashlib.sha256()
    digest.update(job.chapter.source.read_bytes())
    digest.update(json.dumps(job.parameters, sort_keys=True).encode())
    digest.update(job.chapter.source.with_name(f"{job.chapter.name}.params.yaml").read_bytes())  # labels, help
    known = registry.entries()
    for name in job.chapter.data:
        digest.update(f"{name}={known[name].sha256}".encode())
    for path in sorted(p for p in DATA.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    for module in sorted(imported_modules(job.chapter.source)):
        digest.update(module.encode())
        digest.update(_module_file(module).read_bytes())
    if LOCK_FILE.exists():
        digest.update(LOCK_FILE.read_bytes())
    return digest.hexdigest()


def imported_modules(source: Path) -> set[str]:
    """`osteobook` modules a chapter's code cells import, with everything they import in turn."""
    code = "\n".join(CODE_CELL.findall(source.read_text()))
    pending, seen = list(module_imports(code, "")), set()
    while pending:
        module = pending.pop()
        if module in seen or not _module_file(module).exists():
            continue
        seen.add(module)
        parents = module.split(".")
        pending.extend(".".join(parents[:i]) for i in range(1, len(parents)))  # importing runs their __init__
        pending.extend(module_imports(_module_file(module).read_text(), module))
    return seen | {"osteobook", "osteobook.errors", "osteobook.paths"}


def module_imports(code: str, module: str, osteobook_only: bool = True) -> set[str]:
    """Absolute names imported by `code` (which lives in `module`): modules, and `module.name` for every
    name taken `from` a module; only `osteobook` ones unless asked for all."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics: such a chapter is keyed on the whole package
        return set(_all_modules())
    package = module if module and _module_file(module).name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    if not osteobook_only:
        return names
    return {name for name in names if name == "osteobook" or name.startswith("osteobook.")}


def _module_file(module: str) -> Path:
    """The source file of an `osteobook` module (a package's `__init__.py`)."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _all_modules() -> list[str]:
    return [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
            for p in PACKAGE.rglob("*.py")]


def is_current(job: Job) -> bool:
    return (job.executed.exists() and job.results.exists() and job.key_file.exists()
            and job.key_file.read_text() == input_key(job))


def run(job: Job) -> float:
    """Execute one chapter; return seconds taken.

    The kernel writes into a scratch folder; the executed notebook and the results file move into
    place (atomic renames) only when every cell succeeded, so a failed or interrupted run leaves the
    last good outputs untouched and a results file the run did not write is never accepted.
    """
    import jupytext  # imported here: a build with nothing to run never pays for them
    import papermill

    start = time.perf_counter()
    registry.pin_cache_dir()
    os.environ["OSTEOBOOK_ROOT"] = str(ROOT)  # kernels run in other folders (and scratch build roots)
    notebook = jupytext.read(job.chapter.source)
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    scratch = job.scratch
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        scratch.mkdir(parents=True)
        job.results.parent.mkdir(parents=True, exist_ok=True)
        job.executed.parent.mkdir(parents=True, exist_ok=True)
        # The kernel runs in the executed notebook's folder (so nbval can re-run it in place); the results
        # path is relative to it (the page shows no local path) and points into the scratch folder.
        parameters = {**job.parameters, "results_path": os.path.relpath(scratch / "results.json", job.executed.parent)}
        try:
            papermill.execute_notebook(notebook, str(scratch / "executed.ipynb"), parameters=parameters,
                                       kernel_name=KERNEL, cwd=str(job.executed.parent), progress_bar=False,
                                       log_output=False)
        except papermill.PapermillExecutionError as err:
            failed = variant_dir("failed", job.variant) / job.executed.name
            failed.parent.mkdir(parents=True, exist_ok=True)
            (scratch / "executed.ipynb").replace(failed)
            raise ChapterFailed(
                f"chapter {job.chapter.name!r} ({job.variant}) failed in cell {err.cell_index} "
                f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                f"{''.join(err.traceback)}\nThe executed notebook with the error is at {failed}; "
                f"the previous good output was kept."
            ) from None
        if not (scratch / "results.json").exists():
            raise ChapterFailed(f"chapter {job.chapter.name!r} ran but did not write its results file "
                                "(save_results(results_path, ...)); the previous good output was kept")
        results = load_results(scratch / "results.json")
        alpha = float(job.parameters.get("alpha", DEFAULT_ALPHA))
        try:
            accounted = findings.account(job.chapter.name, results, job.chapter.findings, alpha)
        except ParameterError as err:
            raise ChapterFailed(f"{err}; the previous good output was kept") from None
        save_results(scratch / "results.json", {**results, "parameters": job.parameters,
                                                 **({} if accounted is None else {"findings": accounted})})
        _hide_injected_parameters(scratch / "executed.ipynb", job, findings.findings_box(accounted, alpha))
        (scratch / "key").write_text(input_key(job))
        job.key_file.unlink(missing_ok=True)  # an interruption between the renames below leaves no valid key
        (scratch / "results.json").replace(job.results)
        (scratch / "executed.ipynb").replace(job.executed)
        (scratch / "key").replace(job.key_file)
    except OSError as err:
        raise ChapterFailed(f"chapter {job.chapter.name!r} ({job.variant}): could not write its outputs: "
                            f"{err.strerror or err} ({err.filename or scratch}); the previous good output was kept") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return time.perf_counter() - start


def _hide_injected_parameters(path: Path, job: Job | None = None, findings_box: str = "") -> None:
    """The cell papermill injects (values and the internal results path) is build plumbing, not for the page;
    the values are recorded in the results file and on the Reproduce page, and (given the job) shown to
    readers in a "Parameters of this page" box under the chapter's title, followed by `findings_box`; alt texts get
    their glued numbers (engine.alt_text)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("jupytext", None)  # no pairing with a `.md` next to it: JupyterLab opens it as it is
    if job is not None:
        alt_text.fill(notebook, job.chapter.name)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    title = next((cell for cell in notebook.cells if cell.cell_type == "markdown"
                  and re.search(r"^# ", cell.source, re.MULTILINE)), None)
    papermill_meta = notebook.metadata.get("papermill", {})
    if job is not None and not isinstance(papermill_meta.get("input_path"), (str, type(None))):
        # papermill records an in-memory input notebook as a second copy of the whole chapter: name its file instead
        source = job.chapter.source
        papermill_meta["input_path"] = str(source.relative_to(ROOT) if source.is_relative_to(ROOT) else source.name)
    if job is not None and title is not None:
        boxes = [parameters_box(job.chapter, job.parameters), findings_box]
        title.source = re.sub(r"^(# .*\n?)", lambda match: match.group(1).rstrip("\n") + "\n\n"
                              + "\n\n".join(box for box in boxes if box) + "\n",
                              title.source, count=1, flags=re.MULTILINE)
    nbformat.write(notebook, path)


def parameters_box(chapter: Chapter, parameters: dict[str, Any]) -> str:
    """A collapsed admonition listing the values the page was built with (with the spec's labels and help),
    and the commands that change them."""
    defaults = chapter.defaults()
    rows = []
    for key, value in parameters.items():
        label = chapter.label(key, value) if "choices" in chapter.parameters.get(key, {}) else str(value)
        shown = f"`{_cli_value(value)}`" + (f": {label}" if label != str(value) else "")
        if value != defaults.get(key):
            shown += f"; default `{_cli_value(defaults[key])}`"
        help_text = str(chapter.parameters.get(key, {}).get("help", "")).replace("|", "\\|")
        rows.append(f"| `{key}` | {shown} | {help_text} |")
    name, value = _example_change(chapter, parameters)
    return "\n".join([
        ":::{admonition} Parameters of this page",
        ":class: dropdown parameters-box",
        "",
        "This page was computed with these values"
        + (" (the defaults)." if parameters == defaults else "; values that differ from the defaults say so."),
        "",
        "| parameter | value | what it sets |",
        "|---|---|---|",
        *rows,
        "",
        (f"To change one, re-run the chapter: `osteobook run {chapter.name} -p {name} {value}` (add `-p` once per "
        f"value), or build a whole variant book in which every chapter that declares the parameter uses it: "
        f"`osteobook build -p {name} {value}`. In Jupyter, edit the first code cell (tagged `parameters`). "
        f"Allowed values are listed in `notebooks/{chapter.name}.params.yaml`."),
        ":::",
    ])


def _cli_value(value: Any) -> str:
    """A value as it is typed after `-p name` (YAML): true, 17.4, exact, [0.0, 0.01]."""
    import yaml

    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True).strip()[1:-1]
    return f'"{text}"' if " " in text and not text.startswith("[") else text


def _example_change(chapter: Chapter, parameters: dict[str, Any]) -> tuple[str, str]:
    """A parameter of the chapter and another allowed value for it, for the box's example command."""
    for key, spec in chapter.parameters.items():
        others = [choice for choice in spec.get("choices", []) if choice != parameters.get(key)]
        if key not in ("seed", "include_unverified") and others:
            return key, _cli_value(others[0])
    return "seed", "1"


def reuse_default(job: Job) -> bool:
    """Copy the default book's outputs when this variant runs the chapter with the same inputs."""
    default = Job(job.chapter, job.parameters, "default")
    if job.variant == "default" or not is_current(default) or default.key_file.read_text() != input_key(job):
        return False
    for source, target in ((default.executed, job.executed), (default.results, job.results),
                           (default.key_file, job.key_file)):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return True


def run_all(jobs: list[Job], workers: int = os.cpu_count() or 1, force: bool = False) -> dict[str, str]:
    """Run the jobs that are not current, `workers` at a time, printing progress. Returns states."""
    for job in jobs:
        clean_leftovers(job)
    states = {job.chapter.name: "cached" for job in jobs}
    pending = [job for job in jobs if force or not (is_current(job) or reuse_default(job))]
    for job in jobs:
        if job not in pending:
            _report(job, "cached (inputs unchanged)")
    if not pending:
        return states
    failures = []
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(pending))), initializer=_die_with_parent)
    started = {pool.submit(run, job): (job, time.perf_counter()) for job in pending}
    for job in pending:
        _report(job, "running")
    waiting = set(started)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while waiting:
            done, waiting = wait(waiting, timeout=30, return_when=FIRST_COMPLETED)
            for future in done:
                job, t0 = started[future]
                try:
                    _report(job, f"done in {future.result():.1f} s")
                    states[job.chapter.name] = "executed"
                except ChapterFailed as err:
                    _report(job, f"FAILED after {time.perf_counter() - t0:.1f} s")
                    states[job.chapter.name] = "failed"
                    failures.append(str(err))
            for future in waiting:
                job, t0 = started[future]
                _report(job, f"still running ({time.perf_counter() - t0:.0f} s)")
    except KeyboardInterrupt:
        _stop(pool)
        raise ChapterFailed("interrupted: queued chapters were cancelled and running kernels stopped; "
                            "the previous good outputs were kept") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    pool.shutdown(wait=True)
    if failures:
        raise ChapterFailed("\n\n".join(failures))
    return states


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """Worker initializer: a worker gets SIGTERM when the build process dies (Linux), and on SIGTERM it
    kills the kernels it started before exiting, so no orphan keeps writing into `_build`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _kill_children_and_exit)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_children_and_exit(signum, frame) -> None:
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os._exit(128 + signum)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued chapters, then stop every worker and the kernels it started."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """Child processes (recursively) of `pid`, from /proc (empty where /proc is absent)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            children += [int(child) for child in task.read_text().split()]
    return [grandchild for child in children for grandchild in _descendants(child)] + children


def clean_leftovers(job: Job) -> None:
    """Remove what an interrupted run of this chapter left: its scratch folder and old `*.running.ipynb` files
    (other chapters' scratch folders may belong to a run in another process)."""
    shutil.rmtree(job.scratch, ignore_errors=True)
    job.executed.with_suffix(".running.ipynb").unlink(missing_ok=True)


def _report(job: Job, state: str) -> None:
    print(f"[{job.variant}] {job.chapter.name:<14} {state}", file=sys.stderr, flush=True)
