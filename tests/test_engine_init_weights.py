"""``model.init_weights``: a new run starts from a checkpoint's weights at step 0."""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The authors' (fixture) Cityscapes V3-Small at OS 16: 19 classes, no stored labels."""
    from segmnv3.cli import main

    out = tmp_path_factory.mktemp("converted") / "deeplab_small.pt"
    fixture = Path(__file__).parent / "fixtures" / "deeplab_small"
    args = [str(fixture), "--variant", "small", "--output-stride", "16", "--output", str(out)]
    assert main(["convert-deeplab", *args]) == 0
    return out


@pytest.fixture(scope="module")
def six_class_root(tmp_path_factory):
    """``segmnv3 synth --format folder``: 6 classes, colour masks, JPEG, nested folders."""
    from segmnv3.data.synthetic_folder import generate_synthetic_folder

    root = tmp_path_factory.mktemp("six_classes")
    return generate_synthetic_folder(root, num_train=4, num_val=2, size=(64, 128), workers=1)


def test_a_six_class_run_starts_from_a_cityscapes_checkpoint(
    converted, six_class_root, tmp_path, capsys
):
    from segmnv3.core.checkpoint import load_checkpoint

    config = fast_config(
        six_class_root,
        tmp_path / "run",
        "data.dataset=folder",
        "model.num_classes=6",
        f"model.init_weights={converted}",
        "train.iterations=1",
        "train.batch_size=2",
    )
    trainer = Trainer(config, CPU, progress=False)
    printed = capsys.readouterr().out
    assert trainer.labels.names == (
        "road",
        "sidewalk",
        "building",
        "vegetation",
        "vehicle",
        "person",
    )
    assert (
        f"init weights: 6 classes (synthetic-folder) from the 19 of {converted} "
        "(cityscapes-trainids); kept rows of road, sidewalk, building, vegetation, person; "
        "new: vehicle"
    ) in printed
    # the source's numerics and normalisation, each announced
    assert trainer.config.model.padding == "tf_same" and trainer.config.model.align_corners
    assert trainer.config.data.mean == (0.5, 0.5, 0.5)
    assert f"init weights: model.padding = 'tf_same' as in {converted}" in printed
    source = load_checkpoint(converted)["model"]
    loaded = trainer.raw_model.state_dict()
    rows = {0: 0, 1: 1, 2: 2, 3: 8, 5: 11}  # train id here -> Cityscapes train id
    classifiers = [
        k for k in loaded if k.startswith(("head.high_classifier", "head.low_classifier"))
    ]
    assert len(classifiers) == 4
    for key in classifiers:
        assert all(torch.equal(loaded[key][new], source[key][old]) for new, old in rows.items())
        assert not any(torch.equal(loaded[key][4], row) for row in source[key])  # vehicle
    assert all(torch.equal(loaded[k], source[k]) for k in loaded if k not in classifiers)
    assert not trainer.run().interrupted and trainer.step == 1
    stored = load_checkpoint(tmp_path / "run" / "last.pt")
    assert stored["config"]["model"]["padding"] == "tf_same"  # the run's real numerics
    assert [c["name"] for c in stored["labels"]["classes"]] == list(trainer.labels.names)
    again = Trainer(config, CPU, progress=False)  # the same command again continues the run
    again.restore(None)
    assert again.step == 1
