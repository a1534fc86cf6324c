"""``model.init_weights``: a new run starts from a checkpoint's weights at step 0."""

from __future__ import annotations

import pytest
import torch
from test_engine_train import fast_config

from segmnv3.commands.train import add_arguments, resolve_config
from segmnv3.core.checkpoint import save_checkpoint
from segmnv3.core.errors import CheckpointError
from segmnv3.engine.distributed import DistributedContext
from segmnv3.engine.trainer import Trainer
from segmnv3.models.segmenter import build_model

CPU = DistributedContext(0, 1, 0, torch.device("cpu"))
KEY = "backbone.blocks.3.depthwise.0.weight"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A segmnv3 checkpoint of V3-Small whose weights no seed would draw: all 0.5."""
    model = build_model(backbone="mobilenet_v3_small")
    state = {key: torch.full_like(value, 0.5) for key, value in model.state_dict().items()}
    path = tmp_path_factory.mktemp("init") / "source.pt"
    save_checkpoint({"model": state, "config": {"model": {}}}, path)
    return path, state


def test_a_run_starts_at_step_0_from_the_given_weights(synthetic_root, tmp_path, source):
    path, state = source
    config = fast_config(
        synthetic_root, tmp_path / "run", "train.iterations=1", f"model.init_weights={path}"
    )
    trainer = Trainer(config, CPU, progress=False)
    trainer.restore(None)
    assert trainer.step == 0
    assert torch.equal(trainer.raw_model.state_dict()[KEY], state[KEY])
    assert all(not group.get("momentum_buffer") for group in trainer.optimizer.state.values())
    result = trainer.run()
    assert trainer.step == 1 and not result.interrupted
    assert not torch.equal(trainer.raw_model.state_dict()[KEY], state[KEY])  # it trained


def test_weights_of_another_model_are_refused_by_name(synthetic_root, tmp_path, source):
    path, _ = source
    config = fast_config(
        synthetic_root,
        tmp_path / "run",
        f"model.init_weights={path}",
        "model.backbone=mobilenet_v3_large",
    )
    with pytest.raises(CheckpointError, match=rf"model.init_weights={path} do not fit") as error:
        Trainer(config, CPU, progress=False)
    assert "missing key(s)" in str(error.value) and "model.* must describe" in str(error.value)


def test_train_flag_sets_the_config_key(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--init-weights", str(tmp_path / "w.pt")])
    assert resolve_config(args).model.init_weights == str(tmp_path / "w.pt")
