"""`citebot` with Discord's API and gateway at other addresses (the fake server), for tests and benchmarks.

    python -m tests.fake_serve API_BASE GATEWAY_URL serve --config FILE

The rest of the arguments go to `citebot` as typed; the process is otherwise the console script's.
"""

from __future__ import annotations

import sys

import discord
import yarl

from citebot.bot.cli.main import main

if __name__ == "__main__":
    discord.http.Route.BASE = sys.argv[1]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2])
    sys.exit(main(sys.argv[3:]))
