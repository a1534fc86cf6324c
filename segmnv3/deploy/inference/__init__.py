"""Inference I/O: frames in, overlays and label maps out (``segmnv3 infer``).

- ``preprocess``: BGR frame -> normalised NCHW batch (the model's ``data.mean/std``).
- ``sources``: video file, webcam, image, folder or glob.
- ``sinks``: overlay video / images and label PNGs, published atomically.
- ``stream``: decode | infer | encode in three threads; ``PredictorCache`` per size.
- ``pipeline``: ``segment_source(model, source, InferSettings)``.
"""
