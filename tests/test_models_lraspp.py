"""LR-ASPP specifics: large-kernel pooling that works at any size, and the cheap decoder."""

import torch

from segmnv3 import build_model
from segmnv3.models.heads import LRASPPHead


def _copy_weights(source, target):
    target.load_state_dict(source.state_dict())
    return target.eval()


def test_paper_pooling_equals_global_pooling_when_the_kernel_covers_the_map():
    torch.manual_seed(0)
    paper = build_model(backbone="mobilenet_v3_small", pooling="paper").eval()
    global_ = _copy_weights(paper, build_model(backbone="mobilenet_v3_small", pooling="global"))
    x = torch.randn(2, 3, 256, 512)  # features 16x32 at OS 16: the 49x49 kernel clamps to all of it
    with torch.no_grad():
        torch.testing.assert_close(paper(x), global_(x), rtol=0, atol=1e-5)


def test_paper_pooling_is_local_on_a_full_resolution_image():
    head = build_model(backbone="mobilenet_v3_small").head
    high = torch.randn(1, 288, 64, 128)  # OS 16 features of a 1024x2048 image
    pooled = torch.nn.functional.avg_pool2d(high, head.pool_kernel, head.pool_stride)
    assert pooled.shape[-2:] == (
        1,
        4,
    )  # (64-49)//16+1, (128-49)//20+1: a 1x4 grid of local contexts, not one global vector
    gate = head.context_gate(high)
    assert gate.shape == (1, 128, 64, 128)
    assert not torch.allclose(gate[..., :10], gate[..., -10:])  # left and right differ


def test_paper_pooling_at_tiny_inputs_does_not_crash():
    model = build_model(backbone="mobilenet_v3_large", output_stride=16).eval()
    with torch.no_grad():
        for size in [(32, 32), (33, 65), (512, 1024)]:  # half resolution: 32x64 map < 49x49 kernel
            assert model(torch.randn(1, 3, *size)).shape == (1, 19, *size)


def test_classifying_before_the_resize_gives_the_same_logits():
    torch.manual_seed(0)
    cheap = LRASPPHead(120, 480, 19, classify_before_resize=True).eval()
    exact = _copy_weights(cheap, LRASPPHead(120, 480, 19, classify_before_resize=False))
    features = {"low": torch.randn(2, 120, 33, 47), "high": torch.randn(2, 480, 17, 24)}
    with torch.no_grad():
        torch.testing.assert_close(cheap(features), exact(features), rtol=0, atol=1e-5)


def test_gate_is_hard_sigmoid_by_default_and_sigmoid_on_request():
    high = torch.full((1, 8, 4, 4), 10.0)
    hard = LRASPPHead(8, 8, 3, channels=4, pooling="global")
    soft = LRASPPHead(8, 8, 3, channels=4, pooling="global", gate="sigmoid")
    for head in (hard, soft):
        torch.nn.init.zeros_(head.gate_conv.weight)
        torch.nn.init.constant_(head.gate_conv.bias, 4.0)
    assert torch.all(hard.context_gate(high) == 1.0)  # relu6(4 + 3) / 6 saturates at 1
    torch.testing.assert_close(
        soft.context_gate(high), torch.full((1, 4, 1, 1), torch.sigmoid(torch.tensor(4.0)).item())
    )


def test_hard_sigmoid_is_the_papers_piecewise_linear_sigmoid():
    from segmnv3.models.layers import hard_sigmoid

    x = torch.linspace(-6, 6, 1201)
    torch.testing.assert_close(hard_sigmoid(x), torch.clamp(x + 3, 0, 6) / 6, rtol=0, atol=1e-7)
