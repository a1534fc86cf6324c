"""Old import path of ``segmnv3.deploy.inference.preprocess`` (``notebooks/quickstart.ipynb`` uses it)."""

from segmnv3.deploy.inference.preprocess import resize_labels, resize_logits, to_input

__all__ = ["resize_labels", "resize_logits", "to_input"]
