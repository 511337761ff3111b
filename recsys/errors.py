"""Exceptions with a meaning users can act on.

Every error a user can cause derives from :class:`RecsysError`; the CLI prints its message
on one line and exits with its ``exit_code`` (no traceback).
"""


class RecsysError(Exception):
    """An error caused by input or configuration, reported without a traceback."""

    exit_code: int = 2


class DataError(RecsysError):
    """The input data cannot be used: missing column, unreadable file, too many rejects, ..."""


class ConfigError(RecsysError):
    """A configuration value or parameter is invalid."""


class NotFittedError(RecsysError, AttributeError):
    """A model was used before ``fit`` was called."""


class ModelFitError(RecsysError):
    """Training produced an unusable model (e.g. NaN factors)."""

    exit_code = 3


class UnknownIdError(RecsysError, KeyError):
    """An external id is not known to an :class:`~recsys.data.ids.IdMap` (policy ``error``)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StoreError(RecsysError):
    """The artifact store (Redis) could not be read or written."""

    exit_code = 4


class StoreRequestError(StoreError):
    """What was asked of the store does not fit what it holds (an unknown or active version,
    an experiment name in use, ...): the caller's to fix, so exit 2 like other bad input.
    Redis failures and corrupt data stay :class:`StoreError` (exit 4)."""

    exit_code = 2
