"""Allow `python -m wstail`."""

from wstail.commands.main import main

main()
