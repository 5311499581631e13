"""``python -m rmbuild``: one subcommand per phase of ``phases.PHASES``, plus the
commands that are not phases (bundle tools, the artifact list).

Every subcommand is a thin call into the module that owns the logic, imported only
when its command runs. Errors the user can act on (BuildError) are printed as one
line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from . import phases
from .core import ui
from .core.ui import BuildError


def target(spec: str) -> Callable[[argparse.Namespace], object]:
    """``"module:function"`` below rmbuild, imported when called."""
    module_name, func_name = spec.split(":")

    def call(args: argparse.Namespace) -> object:
        return getattr(importlib.import_module(f"rmbuild.{module_name}"), func_name)(args)

    return call


def add_args(parser: argparse.ArgumentParser, args: tuple[phases.Arg, ...]) -> None:
    parser.set_defaults(full=False, extra=[])
    for arg in args:
        flags = [arg.short, f"--{arg.name}"] if arg.short else [f"--{arg.name}"]
        if arg.kind == "flag":
            parser.add_argument(*flags, action="store_true", help=arg.help)
        elif arg.kind == "value":
            parser.add_argument(*flags, metavar=arg.metavar, default=arg.default or None, help=arg.help)
        elif arg.kind == "choice":
            parser.add_argument(*flags, choices=arg.choices, default=arg.default or None, help=arg.help)
        elif arg.kind == "rest":
            parser.add_argument(arg.name, nargs="*", metavar=arg.metavar, help=arg.help)
        else:
            raise AssertionError(arg.kind)


# Commands that are not phases (no nox session of their own).
TOOLS: tuple[tuple[str, str, str, tuple[phases.Arg, ...]], ...] = (
    ("artifacts", "list locked artifacts and their cache state", "core.artifacts:list_command", ()),
    (
        "bundle-verify",
        "verify .rmpkg bundles: every member against rmpkg.json",
        "build.pack.bundle:verify",
        (
            phases.Arg("bundles", "the bundles", "rest", metavar="BUNDLE"),
            phases.Arg("sha256", "also require this sha256 of the whole file", "value", metavar="HEX"),
        ),
    ),
    (
        "bundle-inspect",
        "verify a .rmpkg bundle, then describe it",
        "build.pack.bundle:inspect",
        (
            phases.Arg("bundles", "the bundles", "rest", metavar="BUNDLE"),
            phases.Arg("sha256", "also require this sha256 of the whole file", "value", metavar="HEX"),
            phases.Arg("json", "print its rmpkg.json"),
        ),
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rmbuild",
        description="Build, bundle, test and benchmark the RemoteMedia pipeline runtime for native and wasm32-wasi. "
        "Usually run through nox: `./nox -s SESSION` runs `python -m rmbuild SESSION` in a venv with the "
        "pinned tools (`./nox -l` lists the sessions).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for phase in phases.PHASES:
        p = sub.add_parser(phase.name, help=phase.help, description=phase.help)
        add_args(p, phase.args)
        p.set_defaults(func=target(phase.target))
        if phase.steps:  # one step on its own, as `./inv PHASE.STEP` runs it (`./nox -s X -- --step S`)
            p.add_argument(
                "--step",
                choices=[s.name for s in phase.steps],
                help="only this step: " + "; ".join(f"{s.name}: {s.help}" for s in phase.steps),
            )
            p.set_defaults(func=_with_steps(phase))
    for name, help_text, spec, args in TOOLS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p, args)
        p.set_defaults(func=target(spec))
    return parser


def _with_steps(phase: phases.Phase) -> Callable[[argparse.Namespace], object]:
    """The phase, or the step that ``--step`` names."""
    steps = {s.name: s.target for s in phase.steps}

    def call(args: argparse.Namespace) -> object:
        return target(steps[args.step] if args.step else phase.target)(args)

    return call


def main_job(args: argparse.Namespace) -> None:
    """The main phase: the build phases marked ``in_main``, in table order."""
    parser = build_parser()
    for phase in phases.MAIN:
        ui.step(f"main: {phase.name}")
        sub_args = parser.parse_args([phase.name])
        sub_args.func(sub_args)
    ui.ok("main: " + ", ".join(p.name for p in phases.MAIN) + " done")


def exit_code(func: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """Run a command: its own exit code, or a BuildError (or Ctrl-C) as one line on stderr
    and 1 (130), no traceback. The CLI and the invoke tasks both run commands this way."""
    try:
        result = func(args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return exit_code(args.func, args)
