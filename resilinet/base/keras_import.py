"""Keras imported when a process needs it, and its backend known before that.

`import_keras` imports it without TensorFlow's C++ start-up lines: absl's "All log messages before
absl::InitializeLog()" warning, the oneDNN and CPU-feature notes (`I0000 ... port.cc`, `cpu_feature_guard`).
TF_CPP_MIN_LOG_LEVEL does not hide all of them, so while Keras imports, stderr goes to a file and only the other lines
are passed on. A user who set TF_CPP_MIN_LOG_LEVEL sees what TensorFlow prints. TensorFlow's Python warning that a
tf.function "triggered tf.function retracing" is dropped whatever the variables say: every model a process trains gets
its own training and prediction functions, which TensorFlow's heuristic takes for one function traced again and again
(in a run of few batches, as a first try on a small data folder, it warns from the third model on)."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

START_UP_LINE = re.compile(r"^(?:[IW]\d{4} \d\d:\d\d:|WARNING: All log messages before absl::InitializeLog\(\)"
                           r"|To enable the following instructions: )")
RETRACING_WARNING = "triggered tf.function retracing"


class DropRetracingWarning(logging.Filter):
    """Drops TensorFlow's warning that a tf.function was traced again (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING_WARNING not in record.getMessage()


def drop_retracing_warnings() -> None:
    """Put DropRetracingWarning on TensorFlow's Python logger, once."""
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, DropRetracingWarning) for f in logger.filters):
        logger.addFilter(DropRetracingWarning())


def import_keras() -> ModuleType:
    """The keras module, imported (the first time) with TensorFlow's start-up lines kept off stderr, and TensorFlow's
    retracing warning dropped."""
    drop_retracing_warnings()
    if "keras" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import keras

        return keras
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not START_UP_LINE.match(line)))
            sys.stderr.flush()
    return keras


def keras_backend() -> str:
    """The Keras backend of this process, read from Keras once it is imported; before that, the one it will pick
    (`configured_backend`), so that a process with no use for Keras never imports it to learn its backend."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return configured_backend(os.environ)


def configured_backend(environ: Mapping[str, str]) -> str:
    """The backend Keras picks at import, in its own order: `KERAS_BACKEND` when set and not empty, else the `backend`
    of keras.json in `KERAS_HOME` (else `~/.keras`, or `/tmp/.keras` when the home folder is not writable), else
    TensorFlow."""
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    if "KERAS_HOME" in environ:
        folder = environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        config = json.loads(Path(os.path.expanduser(folder), "keras.json").read_text())
    except (OSError, ValueError):
        return "tensorflow"
    return config.get("backend", "tensorflow") if isinstance(config, dict) else "tensorflow"
