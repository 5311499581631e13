"""Sessions on the reactor module (``pipeline_reactor.wasm``) in wasmtime, in this
process: the host of the session tests and the session benchmark.

The module is instantiated once (``_initialize``), then ``open`` / ``push`` / ``close``
go through its C ABI (runtime/README.md, "Reactor module"): inputs are written into
guest memory from ``rm_alloc``, results read back from ``rm_output_ptr/len``. The
compiled module comes from ``wasi``'s cache, like every other wasmtime run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..core.ui import BuildError
from . import wasi


class SessionError(Exception):
    """A call the runtime refused: ``exit_code`` as the CLI's, ``message`` as it says."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(f"{message} (exit {exit_code})")
        self.exit_code = exit_code
        self.message = message


class Reactor:
    """One instance of the reactor module with a layout's preopens and environment
    (``layout.module`` is the reactor). Python's print() output goes to ``stderr_path``.
    ``scratch``: a writable scratch folder at that guest path (``/tmp``), empty when the
    instance starts, shared by its sessions, deleted by ``close``."""

    def __init__(
        self,
        layout: wasi.Layout,
        *,
        memory_limit: int = wasi.DEFAULT_MEMORY_LIMIT,
        scratch: str | None = wasi.SCRATCH_GUEST,
    ) -> None:
        wt = wasi._wasmtime()
        self._wt = wt
        engine = wasi._engine(wt, epoch=False)
        module, self.compiled_from_cache = wasi.load_module(engine, Path(layout.module), epoch=False)
        self._tmp = tempfile.TemporaryDirectory(prefix="rmbuild-reactor-")
        self.stderr_path = Path(self._tmp.name, "stderr")
        config = wt.WasiConfig()
        config.argv = [layout.program]
        config.env = list(layout.env.items())
        config.stdout_file = str(Path(self._tmp.name, "stdout"))
        config.stderr_file = str(self.stderr_path)
        for guest, host in layout.preopens.items():
            if not Path(host).is_dir():
                raise BuildError(f"preopen {guest} -> {host}: not a folder")
            config.preopen_dir(str(host), guest, False)  # read-only, as in wasi.run
        self.scratch_path: Path | None = None
        if scratch and scratch not in layout.preopens:
            self.scratch_path = Path(tempfile.mkdtemp(prefix=wasi.SCRATCH_PREFIX, dir=self._tmp.name))
            config.preopen_dir(str(self.scratch_path), scratch, True)
        self._store = wt.Store(engine)
        self._store.set_wasi(config)
        self._store.set_limits(memory_size=memory_limit)
        linker = wt.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(self._store, module)
        self._ex = instance.exports(self._store)
        self._memory = self._ex["memory"]
        self._ex["_initialize"](self._store)

    def _call(self, name: str, *args: int) -> int:
        try:
            return self._ex[name](self._store, *args)
        except self._wt.Trap as exc:
            raise SessionError(134, f"the wasm module trapped: {exc}") from exc

    def _bytes(self, data: bytes) -> tuple[int, int]:
        ptr = self._call("rm_alloc", len(data))
        if ptr == 0:
            raise SessionError(1, f"the module could not allocate {len(data)} bytes")
        self._memory.write(self._store, data, ptr)
        return ptr, len(data)

    def _output(self) -> str:
        ptr, length = self._call("rm_output_ptr"), self._call("rm_output_len")
        return bytes(self._memory.read(self._store, ptr, ptr + length)).decode()

    def _checked(self, code: int) -> str:
        text = self._output()
        if code < 0:
            raise SessionError(-code, text)
        return text

    def open(self, manifest: str, base_dir: str = "") -> Session:
        args = [*self._bytes(manifest.encode()), *self._bytes(base_dir.encode())]
        try:
            handle = self._call("rm_session_open", *args)
            self._checked(handle)
        finally:
            self._call("rm_free", args[0], args[1])
            self._call("rm_free", args[2], args[3])
        return Session(self, handle)

    def close(self) -> None:
        self._tmp.cleanup()


class Session:
    """An open pipeline: ``push`` one item (JSON text) -> its result document (JSON text)."""

    def __init__(self, reactor: Reactor, handle: int) -> None:
        self._reactor = reactor
        self.handle = handle

    def push(self, item_json: str) -> str:
        r = self._reactor
        ptr, length = r._bytes(item_json.encode())
        try:
            return r._checked(r._call("rm_session_push", self.handle, ptr, length))
        finally:
            r._call("rm_free", ptr, length)

    def close(self) -> str:
        r = self._reactor
        return r._checked(r._call("rm_session_close", self.handle))
