"""One faster-whisper run, in a fresh process (rmbuild/checks/peers_bench.py starts one per run).

    python faster_whisper_run.py '{"model": DIR, "audio": WAV, "compute_type": "int8", "beam": 5,
                                   "packages": ["faster-whisper", "ctranslate2", ...]}'

Prints one JSON line: the installed versions of ``packages`` ("missing" for one that is not
installed), the CPU compute types CTranslate2 offers here,
the seconds spent importing, loading the model and transcribing (the segments are a
generator: joining their text runs the model), and the text. Standard library and the peer
only (no rmbuild): it runs in whatever Python has the pinned peers.
"""

import importlib.metadata
import json
import sys
import time


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def main(config: dict) -> dict:
    started = time.perf_counter()
    try:
        import ctranslate2
        import faster_whisper
        from faster_whisper import WhisperModel
    except ImportError as exc:
        sys.exit(f"the peer is not installed in {sys.executable}: {exc}")

    imported = time.perf_counter()
    model = WhisperModel(
        config["model"], device="cpu", compute_type=config["compute_type"], cpu_threads=1, num_workers=1
    )
    loaded = time.perf_counter()
    segments, _ = model.transcribe(config["audio"], language="en", beam_size=config["beam"], vad_filter=False)
    text = " ".join(s.text.strip() for s in segments)
    done = time.perf_counter()
    return {
        "versions": {
            **{name: version(name) for name in config.get("packages", [])},
            "faster-whisper": faster_whisper.__version__,
            "ctranslate2": ctranslate2.__version__,
        },
        "cpu_compute_types": sorted(ctranslate2.get_supported_compute_types("cpu")),
        "import_seconds": imported - started,
        "load_seconds": loaded - imported,
        "transcribe_seconds": done - loaded,
        "text": text,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
