"""The front end: source text to an AST with spans, and back (the formatter)."""
