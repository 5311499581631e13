"""Exception classes and the ``Audio`` value type (the extension module builds these)."""

from __future__ import annotations

from typing import Any


class PipelineError(RuntimeError):
    """A runtime error. ``str(exc)`` and ``exc.message`` are the runtime's message, exactly
    what the CLI prints after ``error: ``; ``exc.exit_code`` is the CLI's exit code."""

    kind = "error"

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ManifestError(PipelineError):
    """The manifest is invalid: JSON, structure, node type, params, graph (CLI exit code 2)."""

    kind = "manifest"

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message, exit_code)


class NodeError(PipelineError):
    """A node failed at start-up or on an item, e.g. a Python exception (CLI exit code 3).
    For Python nodes the message carries the traceback after its first line."""

    kind = "node"

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message, exit_code)


class InputError(PipelineError):
    """The input items are invalid or missing (CLI exit code 4)."""

    kind = "inputs"

    def __init__(self, message: str, exit_code: int = 4) -> None:
        super().__init__(message, exit_code)


def _as_list(samples: Any) -> list[float]:
    return samples.tolist() if hasattr(samples, "tolist") else list(samples)


def _as_flat_list(samples: Any) -> list[float]:
    if hasattr(samples, "ravel"):  # numpy
        return samples.ravel().tolist()
    if isinstance(samples, memoryview) and samples.ndim != 1:
        return memoryview(samples.tobytes()).cast(samples.format.lstrip("@=<>!")).tolist()
    return list(samples)


class Audio:
    """Audio: interleaved samples (frame 0 channel 0, frame 0 channel 1, ...).

    In results ``samples`` is a ``numpy.ndarray`` of ``float32`` when numpy can be
    imported, otherwise a ``list`` of floats (the same float32 values). As an input,
    ``samples`` may be a list/tuple of numbers, a float numpy array (float32; float64
    and float16 are converted; integer dtypes are refused), 1-D (interleaved) or 2-D of
    shape ``(frames, channels)``, or a float32 buffer (``array.array('f')``, a
    ``memoryview`` of one); values are rounded to float32.

    ``buffer`` and ``array`` read the samples as a flat float32 ``memoryview`` and a 1-D
    float32 ``numpy.ndarray``, like ``pipeline_values.Audio`` in Python nodes: without
    a copy when the samples are float32 and contiguous already.
    """

    __slots__ = ("channels", "sample_rate", "samples")

    def __init__(self, samples: Any, sample_rate: int, channels: int = 1) -> None:
        self.samples = samples
        self.sample_rate = sample_rate
        self.channels = channels

    @property
    def frames(self) -> int:
        """Samples per channel."""
        samples = self.samples
        count = samples.size if hasattr(samples, "ravel") and hasattr(samples, "size") else len(samples)
        return count // self.channels if self.channels else 0

    @property
    def buffer(self) -> memoryview:
        """The samples as a flat float32 ``memoryview`` (format ``'f'``); zero-copy for
        float32 C-contiguous samples (numpy results, ``array('f')``), else a converted copy."""
        try:
            view = memoryview(self.samples)
        except TypeError:
            view = None
        if view is not None and view.format in ("f", "@f", "=f") and view.c_contiguous:
            return view if view.ndim == 1 else view.cast("B").cast("f")
        import array

        return memoryview(array.array("f", _as_flat_list(self.samples)))

    @property
    def array(self) -> Any:
        """The samples as a 1-D float32 ``numpy.ndarray`` (a view of ``buffer``); needs numpy."""
        import numpy

        return numpy.frombuffer(self.buffer, dtype=numpy.float32)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Audio):
            return NotImplemented
        return (self.sample_rate, self.channels) == (other.sample_rate, other.channels) and _as_list(
            self.samples
        ) == _as_list(other.samples)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = type(self.samples).__name__
        return (
            f"Audio(sample_rate={self.sample_rate!r}, channels={self.channels!r}, "
            f"frames={self.frames!r}, samples={kind})"
        )
