"""Channel tables (model.channels) and NetAdapt's surgery (models.surgery)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from segmnv3.models.channels import ChannelTable
from segmnv3.models.config import ModelConfig
from segmnv3.models.segmenter import build_model_from_config, seed_channel_table
from segmnv3.models.surgery import Unit, channel_table, shrink, unit_channels, units

SMALL = ModelConfig(backbone="mobilenet_v3_small", num_classes=6)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return build_model_from_config(SMALL).eval()


def test_the_paper_table_builds_the_paper_model():
    for backbone in ("mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"):
        config = ModelConfig(backbone=backbone)
        table = seed_channel_table(config)
        plain = build_model_from_config(config).state_dict()
        tabled = build_model_from_config(dataclasses.replace(config, channels=table)).state_dict()
        assert {k: v.shape for k, v in plain.items()} == {k: v.shape for k, v in tabled.items()}
    assert seed_channel_table(ModelConfig()).blocks[12] == (336, 80)  # RF2 halves block 13


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.blocks.__setitem__(4, (240, 32)), "residual add"),
        (lambda t: t.blocks.__setitem__(0, (8, 16)), "no expansion"),
        (lambda t: t.blocks.__setitem__(3, (24, 40)), "drop the block's expansion conv"),
        (lambda t: t.blocks.__setitem__(3, (96, 0)), "integers >= 1"),
        (lambda t: t.blocks.pop(), "has 10 rows but the seed backbone has 11"),
    ],
)
def test_an_invalid_table_is_one_clear_error(edit, message):
    from segmnv3.core.errors import ConfigError
    from segmnv3.core.schema import from_dict, to_plain

    table = seed_channel_table(SMALL)
    table = ChannelTable(table.stem, list(table.blocks), table.last)
    with pytest.raises((ValueError, ConfigError), match=message):
        edit(table)
        from_dict(ModelConfig, {**to_plain(SMALL), "channels": to_plain(table)})


def test_units_follow_residual_groups_at_the_models_output_stride():
    names = [unit.name for unit in units(SMALL)]
    # at OS 16 block 9 loses its stride and joins blocks 7-8 (48 ch after RF2)
    assert "bottleneck of block 7, block 8, block 9, block 10, block 11" in names
    assert names[0] == "bottleneck of stem" and names[-2:] == ["last conv", "head"]
    assert "block 1 expansion" not in names  # block 1 has no expansion conv


def test_no_cut_is_the_identity(small_model):
    for unit in units(SMALL)[:4]:
        same, config = shrink(small_model, SMALL, unit, unit_channels(SMALL, unit))
        assert config == dataclasses.replace(SMALL, channels=seed_channel_table(SMALL)) or (
            unit.kind == "head" and config == SMALL
        )
        for key, value in small_model.state_dict().items():
            assert torch.equal(same.state_dict()[key], value), key


def test_kept_channels_keep_their_weights(small_model):
    unit = Unit("expand", (4,))  # block 5: 240 -> 232 channels, SE squeeze 64 -> 56
    pruned, config = shrink(small_model, SMALL, unit, 232)
    old, new = small_model.backbone.blocks[4], pruned.backbone.blocks[4]
    norms = old.expand[0].weight.abs().sum(dim=(1, 2, 3))
    kept = torch.sort(torch.argsort(norms, descending=True, stable=True)[:232]).values
    assert torch.equal(new.expand[0].weight, old.expand[0].weight[kept])
    assert torch.equal(new.depthwise[0].weight, old.depthwise[0].weight[kept])
    assert torch.equal(new.depthwise[1].running_var, old.depthwise[1].running_var[kept])
    assert torch.equal(new.project[0].weight, old.project[0].weight[:, kept])
    assert new.se.fc1.out_channels == 56 and new.se.fc1.in_channels == 232
    assert config.channels.blocks[4] == (232, 40) and channel_table(pruned) == config.channels


def test_a_group_cut_keeps_the_model_working(small_model):
    unit = [u for u in units(SMALL) if u.name.startswith("bottleneck of block 4")][0]
    pruned, config = shrink(small_model, SMALL, unit, 32)
    assert [pair[1] for pair in config.channels.blocks[3:6]] == [32, 32, 32]
    logits = pruned(torch.randn(1, 3, 64, 128))
    assert logits.shape == (1, 6, 64, 128) and torch.isfinite(logits).all()


def test_a_table_round_trips_through_a_checkpoint_and_exports(small_model, tmp_path):
    from segmnv3.core.checkpoint import save_checkpoint
    from segmnv3.deploy.export.graphs import export_onnx, export_openvino
    from segmnv3.deploy.runtimes import build_predictor
    from segmnv3.deploy.runtimes.backend import ONNXRUNTIME, OPENVINO
    from segmnv3.engine.config import Config
    from segmnv3.models.loading import load_model

    pruned, model_config = shrink(small_model, SMALL, Unit("head"), 96)
    pruned, model_config = shrink(pruned, model_config, Unit("expand", (3,)), 64)
    config = Config(model=model_config)
    path = save_checkpoint(
        {"model": pruned.state_dict(), "config": config.to_dict()}, tmp_path / "a.pt"
    )
    loaded, stored = load_model(path)
    assert stored["model"]["channels"]["blocks"][3] == [64, 40]
    assert stored["model"]["head_channels"] == 96
    image = np.random.default_rng(0).standard_normal((1, 3, 64, 128), dtype=np.float32)
    with torch.no_grad():
        expected = loaded(torch.from_numpy(image)).numpy()
    onnx_path = export_onnx(loaded, tmp_path / "a.onnx", (64, 128))
    xml_path = export_openvino(onnx_path, tmp_path / "a.xml")
    for backend, file in ((ONNXRUNTIME, onnx_path), (OPENVINO, xml_path)):
        logits = build_predictor(backend, file).logits(image)
        assert np.abs(logits - expected).max() < 1e-4, backend.name
