"""The model options that reproduce the authors' DeepLab graph, one at a time.

Each option must change a model's output on its own (a test that cannot fail is no test),
keep the state-dict keys, and be validated by ``ModelConfig``.
"""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from segmnv3.models.config import ModelConfig
from segmnv3.models.layers import TFSameConv2d, hard_sigmoid, tf_same_padding
from segmnv3.models.segmenter import build_model, build_model_from_config

SMALL = ModelConfig(backbone="mobilenet_v3_small", output_stride=16, pool_kernel=(3, 3))
AUTHORS = {
    "dilation": "authors",
    "padding": "tf_same",
    "align_corners": True,
    "hard_sigmoid_scale": 0.16667,
    "head_bn_eps": 1e-5,
}


def _seeded(config: ModelConfig) -> torch.nn.Module:
    """Seeded weights; BN statistics of one batch, so that activations keep unit scale."""
    torch.manual_seed(0)
    model = build_model_from_config(config)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    with torch.no_grad():
        model.train()(torch.randn(2, 3, 96, 128))
    return model.eval()


@pytest.mark.parametrize("option", list(AUTHORS))
def test_each_authors_option_alone_changes_the_output_and_keeps_the_keys(option):
    x = torch.randn(1, 3, 96, 128)  # even sizes: TF SAME pads asymmetrically
    baseline = _seeded(SMALL)
    changed = _seeded(dataclasses.replace(SMALL, **{option: AUTHORS[option]}))
    assert list(changed.state_dict()) == list(baseline.state_dict())
    changed.load_state_dict(baseline.state_dict())
    with torch.no_grad():
        expected = baseline(x)
        assert torch.equal(baseline(x), expected)  # deterministic: any change is the option's
        difference = (changed(x) - expected).abs().max().item()
    assert difference > 1e-6 * expected.abs().max().item(), option


def test_defaults_are_todays_model():
    config = ModelConfig()
    assert (config.dilation, config.padding, config.align_corners) == (
        "torchvision",
        "symmetric",
        False,
    )
    assert config.hard_sigmoid_scale is None and config.head_bn_eps == 1e-3


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [
        (800, 3, 2, 1, (0, 1)),  # even: the extra pixel at the bottom / right
        (800, 5, 2, 1, (1, 2)),
        (769, 3, 2, 1, (1, 1)),  # 32k + 1: symmetric, like PyTorch's padding
        (769, 5, 2, 1, (2, 2)),
        (50, 5, 1, 2, (4, 4)),  # dilated stride 1: symmetric
        (1, 3, 2, 1, (1, 1)),
    ],
)
def test_tf_same_padding_by_hand(size, kernel, stride, dilation, expected):
    assert tf_same_padding(size, kernel, stride, dilation) == expected


def test_tf_same_conv_pads_bottom_right_on_even_sizes_and_symmetric_on_odd():
    torch.manual_seed(0)
    conv = TFSameConv2d(4, 4, 5, stride=2, groups=4, bias=False)
    even = torch.randn(1, 4, 10, 13)  # H even: pads (1, 2); W odd: pads (2, 2)
    expected = F.conv2d(F.pad(even, (2, 2, 1, 2)), conv.weight, None, 2, 0, 1, 4)
    torch.testing.assert_close(conv(even), expected, rtol=0, atol=0)
    assert conv(even).shape[-2:] == (5, 7)
    odd = torch.randn(1, 4, 11, 13)
    torch.testing.assert_close(conv(odd), F.conv2d(odd, conv.weight, None, 2, 2, 1, 4))


def test_tf_same_replaces_only_strided_convs():
    model = build_model(backbone="mobilenet_v3_large", padding="tf_same")
    same = [name for name, m in model.named_modules() if isinstance(m, TFSameConv2d)]
    assert same == ["backbone.stem.0"] + [
        f"backbone.blocks.{i}.depthwise.0" for i in (1, 3, 6)
    ]  # stride 4, 8, 16; block 13 runs at stride 1 at OS 16


def test_hard_sigmoid_scale_is_the_authors_constant():
    x = torch.tensor([-4.0, -3.0, 0.0, 1.5, 3.0, 5.0])
    torch.testing.assert_close(hard_sigmoid(x), F.relu6(x + 3) / 6)
    assert hard_sigmoid(x, 0.16667).tolist() == (F.relu6(x + 3) * 0.16667).tolist()
    assert hard_sigmoid(x, 0.16667)[-1].item() == pytest.approx(1.00002, abs=1e-6)


def test_authors_dilation_keeps_rate_1_where_the_stride_was_removed():
    for rule, expected in (("authors", [1, 2, 2]), ("torchvision", [2, 2, 2])):
        blocks = build_model(backbone="mobilenet_v3_large", dilation=rule).backbone.blocks
        assert [b.depthwise[0].dilation[0] for b in blocks] == [1] * 12 + expected
        assert [b.depthwise[0].stride[0] for b in blocks][12] == 1
    os32 = build_model(backbone="mobilenet_v3_large", output_stride=32, dilation="authors")
    assert {b.depthwise[0].dilation[0] for b in os32.backbone.blocks} == {1}


def test_head_bn_eps_reaches_only_the_head():
    model = build_model(head_bn_eps=1e-5)
    assert model.head.high_branch[1].eps == 1e-5
    assert model.backbone.stem[1].eps == 1e-3
    assert build_model(head="raspp", head_bn_eps=1e-5).head.project[1].eps == 1e-5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dilation": "tf"}, r"model.dilation='tf' is not supported; allowed values: \['auth"),
        ({"padding": "same"}, r"model.padding='same' is not supported"),
        ({"align_corners": 1}, "model.align_corners must be true or false"),
        ({"hard_sigmoid_scale": 6.0}, r"model.hard_sigmoid_scale must be null .* got 6.0"),
        ({"hard_sigmoid_scale": True}, "model.hard_sigmoid_scale must be null"),
        ({"head_bn_eps": 0.0}, r"model.head_bn_eps must be a number in \(0, 1\)"),
        ({"preset": "torchvision", "padding": "tf_same"}, "ignore padding='tf_same'"),
        ({"preset": "torchvision", "dilation": "authors"}, "ignore dilation='authors'"),
        ({"init_weights": "a.pt", "pretrained_backbone": "b.pth"}, "set only one of them"),
    ],
)
def test_options_are_validated(options, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**options)


def test_tf_same_model_exports_to_onnx_at_a_fixed_size(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _seeded(dataclasses.replace(SMALL, **AUTHORS))
    x = torch.randn(1, 3, 96, 128)
    path = tmp_path / "tf_same.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["x"], opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    (ours,) = session.run(None, {"x": x.numpy()})
    assert abs(ours - expected).max() < 1e-4
