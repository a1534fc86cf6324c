"""Keep OpenVINO's model converter and NNCF from sending usage telemetry.

Both send analytics events from a forked child process. Offline (the normal case for an
air-gapped robot, a lab machine or CI without DNS) that child blocks in a DNS lookup and
the command that converted a model cannot exit until it gives up: `make test` was seen
waiting minutes after its last test had passed. segmnv3 turns the telemetry off for its
own process only (no consent file is written): the converter gets the stub it uses
itself when ``openvino_telemetry`` is not installed, and NNCF its documented switch.
"""

from __future__ import annotations

import os


def disable_openvino_telemetry() -> None:
    """Call before ``openvino.convert_model`` or ``import nncf``; idempotent."""
    os.environ.setdefault("NNCF_CI", "1")  # read once, when nncf.telemetry is imported
    try:
        from openvino.tools.ovc import convert_impl, telemetry_stub, telemetry_utils
    except ImportError:  # no converter installed: nothing to silence
        return
    convert_impl.tm = telemetry_stub
    telemetry_utils.tm = telemetry_stub
