"""The ``neurodeploy`` command line: one verb per stage; see CLI.md. Thin: parse, call, print."""
from __future__ import annotations

import functools
import sys

import click

from neurodeploy.errors import NeurodeployError


def friendly_errors(fn):
    """Turn :class:`NeurodeployError` into one line on stderr and its exit code (``--debug``: traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NeurodeployError as e:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="neurodeploy")
def main(debug):
    """neurodeploy: spiking neural networks from training to neuromorphic hardware."""


# Commands are added below, one block per verb. Keep each block thin: the work lives in the package.


if __name__ == "__main__":
    main()
