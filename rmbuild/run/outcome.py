"""What one run of a program gave, on any host: the one result type of the run layer."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core.ui import BuildError


@dataclass
class Outcome:
    exit_code: int
    stdout: bytes
    stderr: bytes
    run_seconds: float  # the run itself: start-up and work, never module compilation
    compile_seconds: float = 0.0  # wasm: compiling the module or loading it from the cache
    compiled_from_cache: bool = False
    trap: str | None = None  # why a wasm module trapped (a time limit, an unreachable, ...)
    host: str = ""  # native | wasmtime | node | ...

    @property
    def streams(self) -> tuple[int, bytes, bytes]:
        """What must be identical between hosts: exit code, stdout, stderr."""
        return self.exit_code, self.stdout, self.stderr

    @property
    def text(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def error_text(self) -> str:
        return self.stderr.decode(errors="replace")

    @property
    def error(self) -> str:
        """The first stderr line (the runtime's ``error: ...``)."""
        lines = self.error_text.strip().splitlines()
        return lines[0] if lines else ""

    def check(self, what: str) -> Outcome:
        """This outcome, or BuildError naming ``what`` with the exit code and stderr."""
        if self.exit_code != 0:
            raise BuildError(f"{what} failed on {self.host or 'its host'} (exit {self.exit_code}):\n{self.error_text}")
        return self

    def json(self) -> object:
        return json.loads(self.stdout)
