"""`python -m trialtrends` = the `trialtrends` command."""

from trialtrends.cli import main

main()
