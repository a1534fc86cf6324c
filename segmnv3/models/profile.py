"""Parameter and multiply-accumulate (MAdds) counts, the paper's Table 7/8 columns.

Convention: MAdds = multiply-accumulates of convolutions and linear layers, plus
bilinear resizes at 4 per output value (each is a weighted sum of 4 inputs). The
resizes matter here: the final upsampling of 19 logit maps to 1024x2048 is ~0.16B,
and the paper's TensorFlow counts include them (conv-only counts come out 4-8% under
the paper's figures; with resizes, within 3%). Both parts are reported separately.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

BILINEAR_MACS_PER_OUTPUT = 4


@dataclass(frozen=True)
class Profile:
    """Model size and cost at one input size.

    Attributes:
        params: number of parameters.
        madds: conv_madds + resize_madds (the figure to compare with the paper).
        conv_madds: multiply-accumulates of convolutions and linear layers.
        resize_madds: multiply-accumulates of bilinear resizes.
        input_size: (H, W) profiled.
    """

    params: int
    madds: int
    conv_madds: int
    resize_madds: int
    input_size: tuple[int, int]

    def __str__(self) -> str:
        h, w = self.input_size
        return f"{self.params / 1e6:.2f}M params, {self.madds / 1e9:.2f}B MAdds at {h}x{w}"


class _CountMAdds(TorchFunctionMode):
    """Counts MAdds at the function level, so any model (ours, torchvision, smp) works."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = 0
        self.resize = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if func in (F.conv2d, torch.conv2d):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            # each output value: (in_channels / groups) x kh x kw multiply-accumulates
            self.conv += output.numel() * weight[0].numel()
        elif func in (F.linear, torch._C._nn.linear):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.conv += output.numel() * weight.shape[1]
        elif func is F.interpolate:
            mode = kwargs.get("mode", args[3] if len(args) > 3 else "nearest")
            if mode == "bilinear":
                self.resize += output.numel() * BILINEAR_MACS_PER_OUTPUT
        return output


def profile(model: nn.Module, input_size: tuple[int, int]) -> Profile:
    """Count parameters and MAdds of ``model`` for one (H, W) RGB input.

    Runs one forward pass of a copy of the model on PyTorch's "meta" device, which
    computes shapes only: any input size costs milliseconds and no memory.

    Args:
        model: any module taking (1, 3, H, W).
        input_size: (H, W), e.g. (1024, 2048) for the paper's full resolution.
    """
    shadow = copy.deepcopy(model).to("meta").eval()
    counter = _CountMAdds()
    with torch.no_grad(), counter:
        shadow(torch.zeros(1, 3, *input_size, device="meta"))
    return Profile(
        params=sum(p.numel() for p in model.parameters()),
        madds=counter.conv + counter.resize,
        conv_madds=counter.conv,
        resize_madds=counter.resize,
        input_size=tuple(input_size),
    )
