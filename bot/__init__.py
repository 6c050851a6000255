"""Front ends: the command line and the Discord bot. Both call retrieval.engine.Engine."""
