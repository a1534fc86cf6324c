"""Errors that mean "the user's input is wrong": the CLI prints them as one line, no traceback.

Library code raises a subclass with a message that names the file or argument, what
is wrong, and what to do. Anything else is a bug and keeps its traceback.
"""

import re


class UserError(Exception):
    """Bad input from the user (file, argument, checkpoint, dataset)."""


class ConfigError(UserError, ValueError):
    """A config file or override that cannot be applied."""


class DatasetError(UserError):
    """A dataset root that is missing, incomplete or unreadable."""


class CheckpointError(UserError):
    """A checkpoint or weights file that is missing, unsafe or does not fit the model."""


class NonFiniteError(CheckpointError):
    """Weights or outputs holding NaN or inf (a diverged model): never saved, never used."""


_WORKER_PREFIX = re.compile(r"^Caught \w+ in DataLoader worker process \d+\.")


def user_message(error: UserError) -> str:
    """The one line to print for ``error``.

    A ``UserError`` raised in a DataLoader worker comes back re-raised by torch with the
    worker's whole traceback as its message; the line printed is then the original
    message (the traceback's last line), as with ``num_workers=0``.
    """
    text = str(error)
    if not _WORKER_PREFIX.match(text):
        return text
    last = text.strip().splitlines()[-1]  # "segmnv3.core.errors.DatasetError: <message>"
    kind, _, message = last.partition(": ")
    return message if message and kind.endswith(type(error).__name__) else text
