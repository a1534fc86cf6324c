"""Datasets: Cityscapes and folder layouts, label sets applied to masks, transforms, the
synthetic generators.

Modules (imported directly, so that ``import segmnv3.data`` stays light):

- ``config``: ``DataConfig``, validated at construction (sizes >= the contract's minimum);
- ``build``: ``build_dataset`` (the one way to get a dataset), ``open_dataset``,
  ``label_set_of``, ``check_label_sets_match``;
- ``decode`` / ``layout`` / ``layout_cityscapes`` / ``layout_folder`` / ``dataset`` /
  ``cache``: files -> checked pairs -> ``SegmentationDataset`` (file or cache reader);
- ``labels``: ``decode_mask`` through a ``LabelSet`` (``segmnv3.core.label_set``), Cityscapes
  id lookups, ``colorize``, ``overlay`` and ``legend_image``;
- ``metrics``: ``ConfusionMatrix`` and ``SegmentationScores`` (official Cityscapes IoU);
- ``transforms``: ``build_train_transform`` / ``build_eval_transform`` from ``DataConfig``;
  augmenting transforms are ``Seedable`` (``seed(n)``) for reproducible, resumable crops;
- ``synthetic``: ``generate_synthetic`` and ``write_clip`` (layouts sampled by ``scene`` from
  the ``world`` objects and ``sprites`` shapes, drawn by ``render``);
- ``prepare``: download verification and labelTrainIds conversion; ``bench``: loader speed.
"""
