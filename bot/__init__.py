"""Front ends: the command line and the Discord bot. Both call citebot.retrieval.engine.Engine."""
