"""The project's own errors; the command line turns each into a one-line message."""

from __future__ import annotations


class CitebotError(Exception):
    """Base of every error a user can cause or fix; its message says what to do."""


class ConfigError(CitebotError):
    """The settings file is missing or holds a bad value."""


class SourcesError(CitebotError):
    """The sources folder is missing or holds no readable article."""


class IndexMissingError(CitebotError):
    """There is no index where one was expected."""


class IndexInvalidError(CitebotError):
    """The index on disk is corrupt or was built with other settings or another model."""


class ModelError(CitebotError):
    """The embedding model cannot be found or its weights fail verification."""


class QuestionError(CitebotError):
    """The question is empty or too long."""


class IndexBusyError(CitebotError):
    """Another build holds the index folder's lock."""
