"""``python -m domainssl`` runs the CLI."""

from domainssl.cli import main

main()
