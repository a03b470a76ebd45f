"""Views of the JSON-contract dicts: cards and tables laid out for people (terminal, pipe, Markdown) and rows for tools (TSV, CSV, NDJSON)."""
