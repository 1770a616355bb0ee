"""Errors a user can act on. The CLI prints ``str(err)`` as one line and exits with ``exit_code``.

Exit codes (docs/cli.md): 0 success, 1 the answer is "no" (does not fit, a check failed),
2 bad usage or unavailable backend/target, 3 bad input file.
"""


class NeurodeployError(Exception):
    """Base class; the message is one line naming the file (if any) and the problem."""

    exit_code = 3


class BadInputError(NeurodeployError):
    """A file or data set that cannot be used as given."""

    exit_code = 3


class UnavailableError(NeurodeployError):
    """A backend, target or optional dependency that this machine does not have."""

    exit_code = 2


class UsageError(NeurodeployError):
    """Options that do not make sense together or do not parse."""

    exit_code = 2


class CheckFailedError(NeurodeployError):
    """The command ran, and the answer is no (e.g. the model does not fit)."""

    exit_code = 1
