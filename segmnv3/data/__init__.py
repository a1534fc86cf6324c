"""Cityscapes data: labels, dataset, transforms and the synthetic generator.

Modules (imported directly, so that ``import segmnv3.data`` stays light):

- ``config``: ``DataConfig``, validated at construction (sizes >= the contract's minimum);
- ``labels``: official label table, ``CLASS_NAMES``, ``PALETTE``, id <-> train-id lookups,
  ``colorize`` and ``overlay`` (``IGNORE_INDEX`` is the contract's, ``segmnv3.core.contract``);
- ``metrics``: ``ConfusionMatrix`` and ``SegmentationScores`` (official Cityscapes IoU);
- ``cityscapes``: ``CityscapesDataset`` (validated at construction) and ``build_dataset``;
- ``transforms``: ``build_train_transform`` / ``build_eval_transform`` from ``DataConfig``;
  augmenting transforms are ``Seedable`` (``seed(n)``) for reproducible, resumable crops;
- ``synthetic``: ``generate_synthetic`` and ``write_clip`` (layouts sampled by ``scene`` from
  the ``world`` objects and ``sprites`` shapes, drawn by ``render``);
- ``prepare``: download verification and labelTrainIds conversion; ``bench``: loader speed.
"""
