"""Training and evaluation.

- ``trainer``: ``train(config)``, the iteration loop (DDP, AMP, resume, signals, logs).
- ``evaluator`` / ``metrics``: inference with flip/scales and the confusion matrix whose
  IoU/mIoU follow the official Cityscapes script (``eval_report`` wraps it for the CLI).
- ``checkpoint``: atomic saves, ``weights_only`` loads, ``load_model``.
- ``losses`` / ``optim``: CE, OHEM, Lovasz term; SGD with the scaled poly LR.
- ``data_loop``: resumable, rank-sharded, per-sample-seeded batch stream.
- ``distributed``, ``model_setup``, ``rng``, ``signals``, ``run_log``, ``predictions``:
  the pieces the loop is built from. ``throughput``: the GPU-vs-loader benchmark.
"""
