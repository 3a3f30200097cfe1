"""`python -m imgapi`, the same as the `imgapi` command."""

from imgapi.main import cli

cli()
