"""``python -m alpha_engine`` is the ``alpha-engine`` command."""

from alpha_engine.cli import main

main()
