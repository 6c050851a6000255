"""Question -> ranked passages with verbatim citations and an answer quote."""
