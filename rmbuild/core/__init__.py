"""The core layer: paths, messages, files, locks, steps, artifacts, toolchains.
Everything above (``build``, ``run``, ``checks``) uses these; they use nothing above."""
