"""The one exception type for mistakes a user can make.

Anything raised as UserError is printed by the CLI as a single sentence and exits with code 2;
every other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem caused by user input (path, config, request); its message is one sentence."""
