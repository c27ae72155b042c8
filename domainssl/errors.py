"""The library's error types, in one bottom-layer module that every layer may import.

Each message names the file or key, what is wrong and the fix; the CLI prints it as one line.
"""


class ConfigError(ValueError):
    """A recipe, flag or ``--set`` value is invalid; the message names the key and the fix."""


class InvalidInputError(ValueError):
    """A data file cannot be used; the message names the file, the problem and the fix."""


class NonFiniteLoss(RuntimeError):
    """The loss became NaN/Inf; training stops before a broken checkpoint is written."""


class TooManyBadFiles(RuntimeError):
    """More files failed to read than ``data.max_bad_fraction`` allows."""


class Interrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C / SIGTERM after writing a resumable checkpoint."""


#: Errors that a command reports as one line (exit code 1), never as a traceback.
USER_ERRORS = (ConfigError, InvalidInputError, NonFiniteLoss, TooManyBadFiles, FileNotFoundError)
