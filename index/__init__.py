"""Articles -> cleaned paragraphs -> chunks -> vectors -> an index folder on disk."""
