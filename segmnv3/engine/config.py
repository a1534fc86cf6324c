"""The experiment config: model, data, training and evaluation sections.

The dataclasses carry the paper's recipe as defaults; YAML files (``segmnv3/configs/``)
only override them, and ``--set section.key=value`` overrides on the command line.
Unknown keys are an error (``segmnv3.core.schema``). The resolved config is printed at
start and saved with every checkpoint (``Config.to_dict``).

Each section lives beside the code it configures: ``segmnv3.models.config.ModelConfig``,
``segmnv3.data.config.DataConfig``, and here ``TrainConfig`` / ``EvalConfig``; packages
below engine/ take their own section, never the whole ``Config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from segmnv3.configs import resolve_config
from segmnv3.core.contract import EVAL_SCALE_RANGE
from segmnv3.core.errors import ConfigError
from segmnv3.core.schema import from_dict, load_yaml, to_plain
from segmnv3.data.config import DataConfig
from segmnv3.models.config import ModelConfig


@dataclass
class TrainConfig:
    """Paper protocol (docs/SPEC.md section 4): SGD 0.9, LR 0.01 at batch 16, poly 0.9, wd 4e-5.

    Attributes:
        iterations: optimiser steps (90k with a pretrained backbone; the default is the
            from-scratch schedule).
        batch_size: per-device batch; the global batch is batch_size x devices x accumulate.
        accumulate: micro-batches summed into one optimiser step (reach batch 16 on fewer
            devices).
        base_lr: learning rate at ``base_batch``; scaled linearly with the global batch.
        base_batch: the global batch at which ``base_lr`` holds.
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        decay_norm_and_bias: also decay BatchNorm weights and biases (off: the usual recipe).
        poly_power: LR = lr * (1 - step / iterations) ** poly_power, per iteration.
        warmup_iters: linear warm-up length (0 = none), from ``warmup_factor`` x LR.
        warmup_factor: LR multiplier at step 0 of the warm-up.
        loss: ``ce`` (cross-entropy, ignore 255) or ``ohem`` (online hard example mining CE).
        ohem_threshold: OHEM keeps pixels whose true-class probability is below this...
        ohem_min_kept: ...but at least this many of the hardest pixels per batch.
        class_weights: optional 19 per-class weights for the cross-entropy.
        lovasz_weight: weight of an added Lovasz-softmax term (segmentation-models-pytorch);
            0 = off.
        bn_momentum: override the BatchNorm momentum of the model (None = the model's, 0.01
            as in TF/torchvision MobileNetV3); 0.1 lets short runs' running statistics
            catch up.
        seed: seeds model init, data order and augmentation.
        cpu_threads: torch intra-op threads (None = torch's default). On shared or small
            CPUs 1 can be many times faster than oversubscribed threads.
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        amp: mixed precision on CUDA: ``bf16``, ``fp16`` (with a grad scaler) or ``none``.
            Ignored on CPU.
        channels_last: NHWC memory format on CUDA.
        compile: wrap the model in ``torch.compile``.
        sync_bn: SyncBatchNorm when running on several processes.
        val_interval: validate every N iterations (and at the end); 0 = only at the end.
        val_max_images: validate on the first N images only (None = whole split).
        log_interval: write a log record every N iterations.
        ckpt_interval: write ``last.pt`` every N iterations (and at the end, and on
            SIGINT/SIGTERM).
        tensorboard: also write TensorBoard events (the JSONL log is always written).
        out_dir: run directory (config.yaml, checkpoints, logs, curves).
    """

    iterations: int = 200_000
    batch_size: int = 16
    accumulate: int = 1
    base_lr: float = 0.01
    base_batch: int = 16
    momentum: float = 0.9
    weight_decay: float = 4e-5
    decay_norm_and_bias: bool = False
    poly_power: float = 0.9
    warmup_iters: int = 0
    warmup_factor: float = 0.1
    loss: Literal["ce", "ohem"] = "ce"
    ohem_threshold: float = 0.7
    ohem_min_kept: int = 100_000
    class_weights: list[float] | None = None
    lovasz_weight: float = 0.0
    bn_momentum: float | None = None
    seed: int = 0
    cpu_threads: int | None = None
    device: str = "auto"
    amp: Literal["bf16", "fp16", "none"] = "bf16"
    channels_last: bool = True
    compile: bool = False
    sync_bn: bool = True
    val_interval: int = 4000
    val_max_images: int | None = None
    log_interval: int = 20
    ckpt_interval: int = 1000
    tensorboard: bool = True
    out_dir: str = "runs/default"

    def __post_init__(self) -> None:
        positive = ("iterations", "batch_size", "accumulate", "base_batch", "log_interval")
        for name in positive:
            _check_range(name, getattr(self, name), ">= 1", getattr(self, name) >= 1)
        for name in ("warmup_iters", "val_interval", "ckpt_interval", "ohem_min_kept"):
            _check_range(name, getattr(self, name), ">= 0", getattr(self, name) >= 0)
        for name in ("weight_decay", "poly_power", "lovasz_weight"):
            _check_range(name, getattr(self, name), ">= 0", getattr(self, name) >= 0)
        _check_range("base_lr", self.base_lr, "> 0", self.base_lr > 0)
        _check_range("momentum", self.momentum, "in [0, 1)", 0 <= self.momentum < 1)
        _check_range("warmup_factor", self.warmup_factor, "in (0, 1]", 0 < self.warmup_factor <= 1)
        _check_range(
            "ohem_threshold", self.ohem_threshold, "in (0, 1]", 0 < self.ohem_threshold <= 1
        )
        for name, rule, ok in (
            ("bn_momentum", "in (0, 1]", lambda v: 0 < v <= 1),
            ("cpu_threads", ">= 1", lambda v: v >= 1),
            ("val_max_images", ">= 1", lambda v: v >= 1),
        ):
            value = getattr(self, name)
            _check_range(name, value, f"None or {rule}", value is None or ok(value))
        if self.class_weights is not None and min(self.class_weights, default=0) < 0:
            raise ConfigError(f"train.class_weights must be >= 0, got {self.class_weights}")
        for name, allowed in (("loss", ("ce", "ohem")), ("amp", ("bf16", "fp16", "none"))):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"train.{name}={getattr(self, name)!r} is not one of {list(allowed)}"
                )
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(
                f"train.device must be auto, cpu, cuda or cuda:N, got {self.device!r}"
            )


# Test-time scales accepted (1 = the image as it is): below 1/4 the network sees a few
# pixels, above 4 a 1024x2048 frame becomes 4096x8192. `segmnv3 eval --scales` checks it too.


@dataclass
class EvalConfig:
    """Evaluation options: single scale, full resolution, no flip by default (the paper's).

    Attributes:
        flip: average the logits of the image and its horizontal mirror.
        scales: input scales whose (upsampled) logits are averaged; (1.0,) = single scale.
            Each lies in ``EVAL_SCALE_RANGE`` (core.contract).
        batch_size: images per forward pass.
    """

    flip: bool = False
    scales: tuple[float, ...] = (1.0,)
    batch_size: int = 1

    def __post_init__(self) -> None:
        low, high = EVAL_SCALE_RANGE
        if not self.scales or not all(low <= s <= high for s in self.scales):  # NaN fails too
            raise ConfigError(
                f"eval.scales must be one or more numbers in [{low:g}, {high:g}], "
                f"got {list(self.scales)}"
            )
        if self.batch_size < 1:
            raise ConfigError(f"eval.batch_size must be >= 1, got {self.batch_size}")


def _check_range(name: str, value: Any, rule: str, ok: bool) -> None:
    """ConfigError naming ``train.<name>`` and its allowed range unless ``ok``."""
    if not ok:
        raise ConfigError(f"train.{name} must be {rule}, got {value!r}")


@dataclass
class Config:
    """The whole experiment: model, data, training and evaluation settings.

    ``explicit_keys`` (not a field: neither saved nor compared) holds the dotted keys a YAML
    file or an override set (``load_config`` records them), so that code filling values in
    from elsewhere (a fine-tuning source's numerics) never overrides what the user chose;
    None when the config was built otherwise (see :func:`explicit_keys`).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    explicit_keys = None  # frozenset[str] | None; a plain attribute, see above

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists for tuples): YAML/JSON-safe, stored in checkpoints."""
        return to_plain(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> Config:
        """Build from a (possibly partial) nested dict; unknown keys raise ConfigError."""
        return from_dict(cls, data or {}, source=source)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``key=value`` overrides.

    Args:
        path: YAML file holding a partial config (``model:``, ``data:``, ``train:``,
            ``eval:``), or the name of a shipped config (``segmnv3.configs``).
        overrides: strings like ``"train.iterations=1000"`` or ``"data.crop_size=[512,1024]"``;
            values are parsed as YAML.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = resolve_config(path)
        try:
            data = load_yaml(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"config file {path} must hold a mapping of sections, got {type(data).__name__}"
            )
        source = str(path)
    for item in overrides or []:
        apply_override(data, item)
    config = Config.from_dict(data, source=source if not overrides else f"{source} + overrides")
    config.explicit_keys = frozenset(_dotted_keys(data))
    return config


def _dotted_keys(data: dict[str, Any]) -> list[str]:
    """``section.key`` of every key a (validated) config dict sets."""
    return [
        f"{section}.{key}"
        for section, values in data.items()
        if isinstance(values, dict)
        for key in values
    ]


def explicit_keys(config: Config) -> frozenset[str]:
    """The dotted keys the user set: recorded by ``load_config``; for a config built
    otherwise (``Config.from_dict``, a checkpoint's config), every key whose value is not
    the default."""
    if config.explicit_keys is not None:
        return config.explicit_keys
    defaults = Config().to_dict()
    return frozenset(
        f"{section}.{key}"
        for section, values in config.to_dict().items()
        for key, value in values.items()
        if defaults[section][key] != value
    )


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply one ``section.key=value`` string to a nested dict in place."""
    if "=" not in item:
        raise ConfigError(
            f"override {item!r}: expected section.key=value, e.g. train.iterations=1000"
        )
    dotted, raw = item.split("=", 1)
    keys = dotted.strip().split(".")
    if len(keys) < 2 or not all(keys):
        raise ConfigError(
            f"override {item!r}: the key must name a section, e.g. model.head_channels"
        )
    try:
        value = load_yaml(raw)
    except yaml.YAMLError:
        value = raw
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {key} is not a section")
    node[keys[-1]] = value
