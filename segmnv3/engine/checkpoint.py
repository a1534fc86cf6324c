"""Checkpoints that survive crashes and never run code when loaded.

A training checkpoint is a plain dict::

    {"model": state_dict, "config": Config.to_dict(), "step": int,
     "optimizer": ..., "scheduler": ..., "scaler": ..., "rng": ..., "best_miou": float}

Writes are atomic: the bytes go to a temporary file in the same directory, are flushed
and fsync'ed, then ``os.replace`` swaps it in. A crash at any point leaves either the old
file or the new one, never a truncated mix. Reads always use
``torch.load(weights_only=True)``: a file holding pickled objects that would run code is
refused with a :class:`~segmnv3.errors.CheckpointError`.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from segmnv3.errors import CheckpointError

LAST_NAME = "last.pt"
BEST_NAME = "best.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temp file + flush + fsync + rename).

    Args:
        state: the checkpoint dict (tensors, numbers, strings, lists, dicts only, so that
            it loads with ``weights_only=True``).
        path: destination file; its directory is created if needed.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_atomic(path, lambda file: torch.save(state, file))


def copy_atomic(source: str | Path, destination: str | Path) -> Path:
    """Copy a finished checkpoint file with the same atomic guarantee as ``save_checkpoint``."""
    with open(source, "rb") as reader:
        return _write_atomic(Path(destination), lambda writer: shutil.copyfileobj(reader, writer))


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """``write`` into a temporary file beside ``path``, fsync, then rename over ``path``:
    a crash at any point leaves either the old file or the new one, never a torn one."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return path


def save_run_checkpoint(state: dict[str, Any], run_dir: str | Path, *, is_best: bool) -> Path:
    """Keep ``last.pt`` (always) and ``best.pt`` (when ``is_best``) in ``run_dir``."""
    last = save_checkpoint(state, Path(run_dir) / LAST_NAME)
    if is_best:
        copy_atomic(last, Path(run_dir) / BEST_NAME)
    return last


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint file safely (``weights_only=True``).

    Raises:
        CheckpointError: the file is missing, unreadable, or contains pickled objects
            (classes, functions) that safe loading refuses to build.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0][:300]
        raise CheckpointError(
            f"refusing to load {path}: it contains pickled code or objects that safe loading "
            f"(torch.load weights_only=True) does not allow ({reason}). Only tensors, numbers, "
            "strings, lists and dicts are accepted; re-save the weights as a plain state dict "
            "from a source you trust"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file (truncated or corrupt?): {error}"
        ) from None


def is_training_checkpoint(data: Any) -> bool:
    """True for a full checkpoint dict (``model`` + ``config``), False for a bare state dict."""
    return isinstance(data, dict) and "model" in data and "config" in data


def load_model(
    path: str | Path,
    config: Any = None,
    map_location: str | torch.device = "cpu",
) -> tuple[torch.nn.Module, Any]:
    """Build the model described by a checkpoint and load its weights.

    Args:
        path: a full training checkpoint (holding its config) or a bare state dict.
        config: ``Config``, or a YAML path, describing the model. Required for a bare state
            dict. For a full checkpoint it may be given to change data/eval settings, but
            its ``model`` section must match the one stored in the checkpoint.
        map_location: device the tensors are loaded onto.

    Returns:
        ``(model, config)``: the model in eval mode on ``map_location``, and the config.

    Raises:
        CheckpointError: unsafe or unreadable file, missing config, or weights that do not
            fit the model the config describes.
    """
    from segmnv3 import build_model_from_config
    from segmnv3.config import Config, load_config

    if isinstance(config, str | Path):
        config = load_config(config)
    data = load_checkpoint(path, map_location=map_location)
    if is_training_checkpoint(data):
        stored = Config.from_dict(data["config"], source=f"{path} (stored config)")
        if config is not None and config.model != stored.model:
            raise CheckpointError(
                f"--config describes a different model than checkpoint {path} "
                f"({config.model} vs {stored.model}); drop --config to use the stored one"
            )
        config = config or stored
        state_dict = data["model"]
    elif isinstance(data, dict) and all(isinstance(v, torch.Tensor) for v in data.values()):
        if config is None:
            raise CheckpointError(
                f"{path} is a bare state dict without a config; pass --config <yaml> "
                "describing the model it was trained with"
            )
        state_dict = data
    else:
        raise CheckpointError(
            f"{path} is neither a segmnv3 checkpoint (keys 'model' and 'config') nor a state "
            f"dict of tensors (found {type(data).__name__})"
        )
    model = build_model_from_config(config.model)
    load_weights(model, state_dict, source=str(path))
    return model.to(map_location).eval(), config


def load_weights(model: torch.nn.Module, state_dict: dict[str, Any], *, source: str) -> None:
    """``model.load_state_dict(strict=True)`` with a readable error when the keys differ."""
    result = _missing_and_unexpected(model, state_dict)
    if result:
        raise CheckpointError(f"weights in {source} do not fit the model: {result}")
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise CheckpointError(
            f"weights in {source} do not fit the model (wrong config?): {' '.join(first[:3])}"
        ) from None


def _missing_and_unexpected(model: torch.nn.Module, state_dict: dict[str, Any]) -> str:
    expected = set(model.state_dict())
    given = set(state_dict)
    missing = sorted(expected - given)
    unexpected = sorted(given - expected)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) e.g. {missing[:3]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) e.g. {unexpected[:3]}")
    if parts:
        parts.append("is the config the one it was trained with?")
    return "; ".join(parts)


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data file is already synced
    finally:
        os.close(descriptor)
