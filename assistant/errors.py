"""Domain errors. The library raises these; only the edges (CLI, web) turn them
into one-line messages. Each message says what is wrong and how to fix it."""


class AssistantError(Exception):
    """Base class for every error a user can cause or fix."""


class CorpusError(AssistantError):
    """The corpus folder is missing, empty, or a file in it can't be read."""


class IndexNotFound(AssistantError):
    """No built index where one was expected."""


class IndexCorrupt(AssistantError):
    """Index files are truncated, unreadable or disagree with each other."""


class IndexMismatch(AssistantError):
    """The index was built with another model or format than the one configured."""


class IndexBusy(AssistantError):
    """Another build holds the index lock."""


class ModelUnavailable(AssistantError):
    """The embedding model can't be loaded from disk."""


class InvalidQuestion(AssistantError):
    """A question that can't be answered as asked (empty, too long)."""


class InvalidArgument(AssistantError):
    """A command-line value outside what the command accepts."""


class InvalidSetting(AssistantError):
    """A setting (assistant.toml, a flag) the assistant can't use: names the key and what is allowed."""
