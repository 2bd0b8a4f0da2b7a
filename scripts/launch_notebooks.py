"""Launch twins: each chapter as a plain Jupyter notebook for Binder, Colab, JupyterLab or a download.

    python scripts/launch_notebooks.py                  # _build/executed/default/<chapter>.ipynb -> _build/launch/
    python scripts/launch_notebooks.py --publish SITE TREE   # SITE/launch/*.ipynb -> TREE/notebooks/ (Pages workflow)

What a twin is: `osteobook.engine.launch` (setup cell, this build's numbers in the text, no jupytext pairing).
The book build itself serves the twins (book/_ext/launch_twins.py: each page's download and `<html>/launch/`);
this script writes them without a build, e.g. to open them in JupyterLab (`make lab`). `--publish` needs only
the standard library: the workflow runs it without the book's environment.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _launch_module():
    """`osteobook.engine.launch`, or (without the package installed, for `--publish`) the file itself."""
    try:
        from osteobook.engine import launch
        return launch
    except ImportError:
        spec = importlib.util.spec_from_file_location("launch", HERE / "src" / "osteobook" / "engine" / "launch.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def twin(executed: Path, commit: str):
    """The launch twin of an executed chapter (kept here for the tests and other scripts)."""
    return _launch_module().twin(executed, commit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publish", nargs=2, metavar=("SITE", "TREE"),
                        help="copy the built site's launch/*.ipynb into TREE/notebooks/ (where the buttons point)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="write the twins of the chapters that were built, skipping the others")
    args = parser.parse_args(argv)
    if args.publish:
        site, tree = (Path(folder) for folder in args.publish)
        for path in _launch_module().publish_tree(site, tree):
            print(path, file=sys.stderr)
        return 0

    from osteobook.engine import launch
    from osteobook.engine.params import chapter_names
    from osteobook.paths import BUILD, ROOT, variant_dir

    out = BUILD / "launch"
    commit = launch.build_commit(ROOT)
    for name in chapter_names():
        executed = variant_dir("executed", "default") / f"{name}.ipynb"
        if not executed.exists():
            if args.skip_missing:
                print(f"{name}: skipped, {executed} was not built", file=sys.stderr)
                continue
            raise SystemExit(f"{executed} is missing: build the book first (make book)")
        launch.write_twin(executed, out / f"{name}.ipynb", commit)
        print(f"{name}: {out / f'{name}.ipynb'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
