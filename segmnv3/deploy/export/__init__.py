"""Export: ONNX / OpenVINO IR files, int8 quantization, and the checks that they are right.

- ``graphs``: ``export_onnx``, ``export_openvino`` (atomic files).
- ``parity``: fp32 exports against eager PyTorch (``ParityThresholds``).
- ``quantize``: int8 recipes for ONNX Runtime and OpenVINO (NNCF).
- ``accuracy``: int8 against fp32 (argmax agreement, mIoU).
- ``bundle``: ``segmnv3 export`` end to end (``ExportSettings`` -> ``ExportResult``).
"""
