"""Import OpenVINO and NNCF with their usage telemetry off.

Both send analytics events from a forked child process, OpenVINO already when it is
imported (its converter reports "general_import"). Offline (the normal case for an
air-gapped robot, a lab machine or CI without DNS) that child blocks in a DNS lookup:
the import waits for it, and a command that converted a model could not exit until it
gave up (`make test` was seen waiting minutes after its last test had passed). segmnv3
turns the telemetry off for its own process only, and writes no consent file: before
OpenVINO is first imported the ``openvino_telemetry`` package is made unimportable, so
OpenVINO and NNCF fall back to the no-op stubs they ship for installs without it; NNCF
also gets its documented switch. Every OpenVINO / NNCF import in segmnv3 goes through
:func:`import_openvino` / :func:`import_nncf`.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_openvino() -> ModuleType:
    """``import openvino`` without telemetry; idempotent."""
    _block_telemetry()
    import openvino

    _stub_converter_telemetry()
    return openvino


def import_nncf() -> ModuleType:
    """``import nncf`` without telemetry; idempotent."""
    import_openvino()
    import nncf

    return nncf


def _block_telemetry() -> None:
    os.environ.setdefault("NNCF_CI", "1")  # read once, when nncf.telemetry is imported
    if "openvino" not in sys.modules:  # None in sys.modules makes the import raise ImportError
        sys.modules.setdefault("openvino_telemetry", None)


def _stub_converter_telemetry() -> None:
    """For a process that imported OpenVINO before segmnv3 did: silence the converter."""
    try:
        from openvino.tools.ovc import convert_impl, telemetry_stub, telemetry_utils
    except ImportError:  # no converter installed: nothing to silence
        return
    convert_impl.tm = telemetry_stub
    telemetry_utils.tm = telemetry_stub
