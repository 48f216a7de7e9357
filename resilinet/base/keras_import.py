"""Keras imported without TensorFlow's C++ start-up lines: absl's "All log messages before absl::InitializeLog()"
warning, the oneDNN and CPU-feature notes (`I0000 ... port.cc`, `cpu_feature_guard`). TF_CPP_MIN_LOG_LEVEL does not
hide all of them, so while Keras imports, stderr goes to a file and only the other lines are passed on. A user who
set TF_CPP_MIN_LOG_LEVEL sees what TensorFlow prints."""
from __future__ import annotations

import os
import re
import sys
import tempfile
from types import ModuleType

START_UP_LINE = re.compile(r"^(?:[IW]\d{4} \d\d:\d\d:|WARNING: All log messages before absl::InitializeLog\(\)"
                           r"|To enable the following instructions: )")


def import_keras() -> ModuleType:
    """The keras module, imported (the first time) with TensorFlow's start-up lines kept off stderr."""
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
