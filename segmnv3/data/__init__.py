"""Cityscapes data: labels, dataset, transforms and the synthetic generator.

Modules (imported directly, so that ``import segmnv3.data`` stays light):

- ``labels``: official label table, ``IGNORE_INDEX``, ``CLASS_NAMES``, ``PALETTE``,
  id <-> train-id lookups and ``colorize``;
- ``cityscapes``: ``CityscapesDataset`` (validated at construction) and ``build_dataset``;
- ``transforms``: ``build_train_transform`` / ``build_eval_transform`` from ``DataConfig``;
- ``synthetic``: ``generate_synthetic`` and ``write_clip`` (layouts sampled by ``scene`` from
  the ``world`` objects and ``sprites`` shapes, drawn by ``render``);
- ``prepare``: download verification and labelTrainIds conversion; ``bench``: loader speed.
"""
