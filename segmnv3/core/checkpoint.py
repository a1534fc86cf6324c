"""Checkpoint files that survive crashes and never run code when loaded.

A training checkpoint is a plain dict::

    {"model": state_dict, "config": Config.to_dict(), "step": int,
     "optimizer": ..., "scheduler": ..., "scaler": ..., "rng": ..., "best_miou": float}

Writes are atomic (``segmnv3.core.files``). Reads always use
``torch.load(weights_only=True)``: a file holding pickled objects that would run code is
refused with a :class:`~segmnv3.core.errors.CheckpointError`.
"""

from __future__ import annotations

import errno
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from segmnv3.core.errors import CheckpointError, NonFiniteError
from segmnv3.core.files import atomic_write
from segmnv3.core.safe_io import check_regular_file


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically; its folder is created if needed.

    Args:
        state: tensors, numbers, strings, lists and dicts only, so that it loads with
            ``weights_only=True``.
        path: destination file.

    Raises:
        NonFiniteError: the weights (``state["model"]``, or ``state`` itself when it is a
            bare state dict) hold NaN or inf: such a file is never written.
        CheckpointError: the disk is full or the folder not writable (one line; the file
            that was there before is left as it was).
    """
    weights = state.get("model", state) if isinstance(state, dict) else {}
    bad = nonfinite_tensors(weights) if isinstance(weights, dict) else []
    if bad:
        raise NonFiniteError(
            f"refusing to write {path}: the weights hold NaN or inf ({_names(bad)}); "
            "the model diverged"
        )
    try:
        return atomic_write(path, lambda file: torch.save(state, file))
    except (OSError, RuntimeError) as error:
        reason = write_failure(error)
        if reason is None:
            raise
        raise CheckpointError(
            f"cannot write checkpoint {path}: {reason}; nothing was lost (the previous "
            "checkpoint is intact): free space or choose another folder, then rerun to resume"
        ) from None


def write_failure(error: BaseException) -> str | None:
    """ "the disk is full" / "permission denied" for a failed write, None for other errors.

    torch.save reports a full disk as an ``OSError`` or as a ``RuntimeError`` of its zip
    writer (``enforce fail ... unexpected pos``, ``file write failed``), depending on
    where the write stopped.
    """
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return "the disk is full"
        if error.errno == errno.EDQUOT:
            return "the disk quota is exceeded"
        return error.strerror or str(error)
    text = str(error)
    if any(sign in text for sign in ("unexpected pos", "file write failed", "PytorchStreamWriter")):
        return "the disk is full (or the write failed)"
    return None


def nonfinite_tensors(state_dict: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors of ``state_dict`` holding NaN or inf."""
    return [
        name
        for name, value in state_dict.items()
        if isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return f"{len(names)} tensor(s), e.g. {shown}" if len(names) > 3 else shown


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint file safely (``weights_only=True``).

    Raises:
        CheckpointError: the file is missing, a folder or special file (a FIFO,
            ``/dev/zero``: ``safe_io``), unreadable, not a PyTorch file at all (checked
            from its first bytes before torch reads it), or contains pickled objects
            (classes, functions) that safe loading refuses to build.
    """
    path = check_regular_file(path, "checkpoint", error=CheckpointError)
    _check_magic(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        found = _UNSUPPORTED_GLOBAL.search(str(error))
        what = f" ({found[1]})" if found else ""
        raise CheckpointError(
            f"refusing to load {path}: it contains pickled code or objects{what} that a "
            "checkpoint must not hold. Only tensors, numbers, strings, lists and dicts are "
            "accepted; re-save the weights as a plain state dict "
            "(torch.save(model.state_dict(), path)) where they were made"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as error:
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file (truncated or corrupt?): {error}"
        ) from None


# torch.save writes a zip archive; files of torch < 1.6 (and raw pickles) start with the
# pickle PROTO opcode. Anything else is not a checkpoint, whatever its extension.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = 0x80
_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_KNOWN_FORMATS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
}


def _check_magic(path: Path) -> None:
    """CheckpointError naming what ``path`` looks like when it is not a torch.save file."""
    try:
        with open(path, "rb") as file:
            head = file.read(64)
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror}") from None
    if head.startswith(_ZIP_MAGIC) or (head and head[0] == _PICKLE_PROTO):
        return
    kind = next((name for magic, name in _KNOWN_FORMATS.items() if head.startswith(magic)), None)
    if kind is None:
        kind = "an empty file" if not head else "a text file" if _is_text(head) else None
    looks = f" (it looks like {kind})" if kind else ""
    raise CheckpointError(
        f"{path} is not a checkpoint{looks}: expected a file written by torch.save "
        "(best.pt / last.pt of a run, or a saved state dict); check the path"
    )


def _is_text(head: bytes) -> bool:
    """No control characters other than whitespace (UTF-8 bytes >= 0x80 pass)."""
    return all(byte >= 0x20 or byte in b"\t\n\r" for byte in head)


def is_training_checkpoint(data: Any) -> bool:
    """True for a full checkpoint dict (``model`` + ``config``), False for a bare state dict."""
    return isinstance(data, dict) and "model" in data and "config" in data


def is_state_dict(data: Any) -> bool:
    """True for a plain ``{name: tensor}`` dict."""
    return isinstance(data, dict) and all(isinstance(v, torch.Tensor) for v in data.values())


def load_weights(model: torch.nn.Module, state_dict: dict[str, Any], *, source: str) -> None:
    """``model.load_state_dict(strict=True)`` with a readable error when the keys differ."""
    mismatch = _missing_and_unexpected(model, state_dict)
    if mismatch:
        raise CheckpointError(f"weights in {source} do not fit the model: {mismatch}")
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise CheckpointError(
            f"weights in {source} do not fit the model (wrong config?): {' '.join(first[:3])}"
        ) from None


def _missing_and_unexpected(model: torch.nn.Module, state_dict: dict[str, Any]) -> str:
    expected, given = set(model.state_dict()), set(state_dict)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) e.g. {missing[:3]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) e.g. {unexpected[:3]}")
    if parts:
        parts.append("is the config the one it was trained with?")
    return "; ".join(parts)
