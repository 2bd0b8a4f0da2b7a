"""`osteobook`: fetch data, execute chapters, build the book.

    osteobook fetch                         fetch and check every registry file
    osteobook run evidence -p ci_method wilson
    osteobook build [--profile NAME] [--jobs N] [--force]
"""
from __future__ import annotations

import argparse
import os
import sys

from ..datasets import registry
from ..errors import OsteobookError
from . import execute, render
from .params import (
    chapter_names,
    check_name,
    load_chapter,
    load_profile,
    parse_cli_value,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osteobook", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="fetch and check every registry file")
    run = commands.add_parser("run", help="execute one chapter (not rendered)")
    run.add_argument("chapter", choices=chapter_names())
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    run.add_argument("--variant", default="cli", help="output folder name under _build/executed (default: cli)")
    build = commands.add_parser("build", help="execute every chapter and render the HTML book")
    build.add_argument("--profile", help="named parameter profile in profiles/ (builds into its own folder)")
    build.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    build.add_argument("--force", action="store_true", help="re-execute even if inputs are unchanged")
    build.add_argument("--no-html", action="store_true", help="execute only")
    build.add_argument("--chapters", type=lambda text: text.split(","), default=chapter_names(),
                       help="comma-separated chapters to include (default: all)")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            for name, path in registry.fetch_all().items():
                print(f"ok  {name}  ({path})")
        elif args.command == "run":
            overrides = {name: parse_cli_value(value) for name, value in args.parameter}
            job = execute.make_job(load_chapter(args.chapter), overrides, check_name("variant", args.variant))
            execute.run_all([job], workers=1, force=True)
            print(f"executed notebook: {job.executed}\nresults: {job.results}")
        else:
            _build(args)
    except OsteobookError as err:
        print(f"osteobook: {err}", file=sys.stderr)
        return 2
    return 0


def _build(args: argparse.Namespace) -> None:
    variant = args.profile or "default"
    profile = load_profile(args.profile) if args.profile else {}
    registry.fetch_all()
    jobs = [execute.make_job(load_chapter(name), profile.get(name, {}), variant) for name in args.chapters]
    execute.run_all(jobs, workers=args.jobs, force=args.force)
    if not args.no_html:
        staged, changed = render.stage(variant, {job.chapter.name: job.executed for job in jobs}, profile)
        print(f"HTML: {render.build_html(variant, staged, changed)}")


if __name__ == "__main__":
    sys.exit(main())
