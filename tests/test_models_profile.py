"""Params and MAdds against the paper's Table 7 (rows 8 and 11 are the paper's candidates)."""

import pytest
import torch
from torch import nn

from segmnv3 import build_model, profile
from segmnv3.commands.zoo import paper_configs, profile_config
from segmnv3.core.paper import PAPER_ROWS


@pytest.mark.parametrize(
    "name",
    ["table7_row08_v3large_rf2_lraspp_f128_os16", "table7_row11_v3small_rf2_lraspp_f128_os16"],
)
def test_paper_candidates_params_within_2_percent_and_madds_within_5(name):
    entry = profile_config(f"configs/{name}.yaml")
    paper = PAPER_ROWS[name]
    assert entry.params / 1e6 == pytest.approx(paper.params_m, rel=0.02)
    assert entry.madds_full / 1e9 == pytest.approx(paper.madds_full_b, rel=0.05)


def test_every_paper_config_is_close_to_its_row():
    paths = paper_configs()
    assert len(paths) == 13  # Table 7's 11 rows + Table 8's two OS 32 variants
    for path in paths:
        entry = profile_config(path)
        # Params within 2% or the paper's printed precision (row 10: 0.16M printed).
        assert entry.params / 1e6 == pytest.approx(entry.paper.params_m, rel=0.02, abs=0.01), (
            path.stem
        )
        assert entry.madds_full / 1e9 == pytest.approx(entry.paper.madds_full_b, rel=0.05), (
            path.stem
        )
        # Same network at half the side: a quarter of the MAdds.
        assert entry.madds_half == pytest.approx(entry.madds_full / 4, rel=0.02), path.stem


def test_v2_rf2_halves_after_the_width_rounding():
    """Row 10 (x0.35): 28 and 56 channels (not make_divisible(80 x 0.35) = 32), 0.158M params
    as the paper's 0.16M; rows 9 (x0.5) and 4 (x1.0) are unchanged by that order."""
    expected = {"row10_v2w035": 158_230, "row09_v2w050": 282_598, "row04_v2": 987_174}
    for row, params in expected.items():
        entry = profile_config(f"configs/table7_{row}_rf2_lraspp_f128_os16.yaml")
        assert entry.params == params, row
    model = build_model(backbone="mobilenet_v2", width_mult=0.35, rf2=True)
    assert [block.out_channels for block in model.backbone.blocks][-4:] == [28, 28, 28, 56]


def test_madds_by_hand_for_a_tiny_network():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),  # 8 x 5 x 5 outputs x 27 MACs
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # depthwise: 8 x 5 x 5 x 9
        nn.Upsample(size=(10, 10), mode="bilinear"),  # 8 x 10 x 10 x 4
        nn.Flatten(),
        nn.Linear(800, 4),  # 800 x 4
    )
    stats = profile(model, (10, 10))
    assert stats.conv_madds == 8 * 25 * 27 + 8 * 25 * 9 + 800 * 4
    assert stats.resize_madds == 8 * 100 * 4
    assert stats.madds == stats.conv_madds + stats.resize_madds
    assert stats.params == sum(p.numel() for p in model.parameters())


def test_profile_leaves_the_model_untouched():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    profile(model, (16, 16))
    assert model.training
    for key, value in model.state_dict().items():
        assert value.device.type == "cpu"
        torch.testing.assert_close(value, before[key])
