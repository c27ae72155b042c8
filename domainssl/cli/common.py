"""What every command shares: the one error decorator and option bundles."""

from __future__ import annotations

import functools
import sys

import click

from domainssl.errors import USER_ERRORS, Interrupted


class UserError(click.ClickException):
    """A readable error without a traceback (exit code 1)."""


def user_errors(func):
    """The library's user errors become one line on stderr and exit code 1; Ctrl-C / SIGTERM exit 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            raise UserError(str(exc)) from exc
        except Interrupted as exc:
            click.echo(str(exc), err=True)
            sys.exit(130)

    return wrapper


def apply_options(options: list):
    """Decorator that adds a list of ``click.option`` decorators, first one on top."""

    def decorator(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorator
