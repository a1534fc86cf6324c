"""Errors that mean "the user's input is wrong": the CLI prints them as one line, no traceback.

Library code raises a subclass with a message that names the file or argument, what
is wrong, and what to do. Anything else is a bug and keeps its traceback.
"""


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
