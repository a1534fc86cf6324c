"""OpenVINO calls must not leave the main thread's signal stack dangling (Ctrl-C would crash)."""

import signal

from segmnv3.cli import main
from segmnv3.deploy.signal_stack import current_signal_stack


def _mapped(address: int) -> bool:
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            if low <= address < high:
                return True
    return False


def test_signals_still_work_after_openvino_export_and_quantization(tmp_path, synthetic_root):
    before = current_signal_stack()
    # This combination left the stack pointing at unmapped memory before the fix.
    code = main(
        [
            "export",
            "--random-init",
            "--config",
            "configs/table7_row11_v3small_rf2_lraspp_f128_os16.yaml",
            "--resolution",
            "64x128",
            "--format",
            "onnx",
            "openvino",
            "int8-openvino",
            "--output",
            str(tmp_path),
            "--data-root",
            str(synthetic_root),
            "--calib-images",
            "2",
            "--val-images",
            "2",
        ]
    )
    assert code == 0
    after = current_signal_stack()
    assert after == before
    assert after[0] == 0 or _mapped(after[0])
    received = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: received.append(number))
    try:
        signal.raise_signal(signal.SIGTERM)  # SIGSEGV here before the fix
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == [signal.SIGTERM]
