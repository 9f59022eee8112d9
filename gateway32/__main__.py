"""``python -m gateway32``: the gateway32 command."""

from gateway32.cli import main

main()
