"""The paper authors' TensorFlow DeepLab MobileNetV3 checkpoints, read without TensorFlow.

tensors = read_tf_checkpoint("deeplab_mnv3_small_cityscapes_trainfine_2019_11_15.tar.gz")
converted = convert_deeplab(path, "small")     # .state_dict fits our Small RF2 LR-ASPP
"""

from segmnv3.models.deeplab.convert import ConvertedWeights, convert_deeplab
from segmnv3.models.deeplab.tf_checkpoint import read_tf_checkpoint

__all__ = ["ConvertedWeights", "convert_deeplab", "read_tf_checkpoint"]
