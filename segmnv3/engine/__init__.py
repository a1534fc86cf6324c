"""Training and evaluation: the layer above ``models`` and ``data`` (both below, core beneath).

- ``config``: the root ``Config`` (sections: ``ModelConfig``, ``DataConfig``, ``TrainConfig``,
  ``EvalConfig``; each validates itself), ``load_config``, ``--set`` overrides.
- ``trainer``: ``train(config)``, the iteration loop (DDP, AMP, resume, signals, logs);
  ``save_policy``: the one decision of when ``last.pt`` / ``best.pt`` are written.
- ``evaluator``: inference with flip/scales at the mask's resolution, scored with
  ``segmnv3.data.metrics`` (``eval_report`` wraps it for the CLI).
- ``checkpoint``: run checkpoints (``last.pt`` / ``best.pt``) and ``load_model`` with a Config.
- ``losses`` / ``optim``: CE, OHEM, Lovasz term; SGD with the scaled poly LR.
- ``data_loop``: resumable, rank-sharded, per-sample-seeded batch stream.
- ``distributed``, ``model_setup``, ``rng``, ``signals``, ``run_log``, ``predictions``:
  the pieces the loop is built from. ``throughput``: the GPU-vs-loader benchmark.
"""
