"""invoke tasks, made from ``rmbuild/phases.py`` like the nox sessions: the same phases
at finer grain (``./inv --list``), run in the current environment. Tasks that need
PyPI tools (zig, wasmtime) expect them installed, as nox does."""

from __future__ import annotations

import argparse
import inspect

from invoke import Collection, Task

from rmbuild import cli, phases


def _task(name: str, help_text: str, spec: str, args: tuple[phases.Arg, ...]) -> Task:
    """A task calling ``spec`` with the arguments argparse would have parsed."""
    call = cli.target(spec)

    def body(c, **kwargs):
        namespace = argparse.Namespace(full=False, extra=[])
        for arg in args:
            value = kwargs.get(arg.name.replace("-", "_"))
            if arg.kind == "rest":
                value = value.split() if value else []
            setattr(namespace, arg.name.replace("-", "_"), value)
        code = cli.exit_code(call, namespace)
        if code:
            raise SystemExit(code)

    params = [inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for arg in args:
        default = False if arg.kind == "flag" else ""
        params.append(inspect.Parameter(arg.name.replace("-", "_"), inspect.Parameter.KEYWORD_ONLY, default=default))
    body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    body.__doc__ = help_text
    helps = {a.name.replace("-", "_"): a.help + (" (space-separated)" if a.kind == "rest" else "") for a in args}
    return Task(body, name=name, help=helps)


ns = Collection()
collections: dict[str, Collection] = {}
for phase in phases.PHASES:
    group, _, name = (phase.task or phase.name).rpartition(".")
    target = ns if not group else collections.setdefault(group, Collection(group))
    if phase.steps:  # a collection of its own: the whole phase is its default task
        target = collections.setdefault(phase.name, Collection(phase.name))
        target.add_task(_task(phase.name, phase.help, phase.target, phase.args), default=True)
        for step in phase.steps:
            target.add_task(_task(step.name, step.help, step.target, phase.args))
    else:
        target.add_task(_task(name, phase.help, phase.target, phase.args))
for name, help_text, spec, args in cli.TOOLS:  # commands that are not phases
    ns.add_task(_task(name, help_text, spec, args))
for collection in collections.values():
    ns.add_collection(collection)
