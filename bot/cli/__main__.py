"""`python -m citebot.bot.cli` runs the command line, as the installed `citebot` does."""

import sys

from citebot.bot.cli.main import main

sys.exit(main())
