"""Typed, strict configuration.

The dataclasses carry the paper's recipe as defaults; YAML files in ``configs/`` only
override them, and ``--set section.key=value`` overrides on the command line. Unknown
keys are an error (a typo must never silently fall back to a default). The resolved
config is printed at start and saved with every checkpoint (``Config.to_dict``).

Each section lives beside the code it configures:
``segmnv3.models.config.ModelConfig``, ``segmnv3.data.config.DataConfig``,
``segmnv3.engine.config.TrainConfig`` / ``EvalConfig``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from segmnv3.data.config import DataConfig
from segmnv3.engine.config import EvalConfig, TrainConfig
from segmnv3.errors import ConfigError
from segmnv3.models.config import ModelConfig


@dataclass
class Config:
    """The whole experiment: model, data, training and evaluation settings."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists for tuples): YAML/JSON-safe, stored in checkpoints."""
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> Config:
        """Build from a (possibly partial) nested dict; unknown keys raise ConfigError."""
        return _build(cls, data or {}, source, prefix="")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``key=value`` overrides.

    Args:
        path: YAML file holding a partial config (``model:``, ``data:``, ``train:``, ``eval:``).
        overrides: strings like ``"train.iterations=1000"`` or ``"data.crop_size=[512,1024]"``;
            values are parsed as YAML.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist; see configs/README.md for the list"
            )
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"config file {path} must hold a mapping of sections, got {type(data).__name__}"
            )
        source = str(path)
    for item in overrides or []:
        apply_override(data, item)
    return Config.from_dict(data, source=source if not overrides else f"{source} + --set")


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply one ``section.key=value`` string to a nested dict in place."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. train.iterations=1000")
    dotted, raw = item.split("=", 1)
    keys = dotted.strip().split(".")
    if len(keys) < 2 or not all(keys):
        raise ConfigError(f"--set {item!r}: the key must name a section, e.g. model.head_channels")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {item!r}: {key} is not a section")
    node[keys[-1]] = value


def _build(cls: type, data: Any, source: str, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: {prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = prefix or "top level"
        raise ConfigError(
            f"{source}: unknown key(s) {unknown} in {where}; allowed: {sorted(names)}"
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, source, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: {error}") from None


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    """Convert YAML values to the annotated type (tuples from lists, floats from ints)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{source}: {key}: cannot use {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: {key}={value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        inner = args if args and args[-1] is not Ellipsis else (args[0],) * len(value)
        if len(inner) != len(value):
            raise ConfigError(f"{source}: {key} must have {len(inner)} items, got {value!r}")
        return tuple(_coerce(a, v, source, key) for a, v in zip(inner, value, strict=True))
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        return [_coerce(args[0], v, source, key) for v in value] if args else list(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{source}: {key} must be {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be int, got {value!r}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
