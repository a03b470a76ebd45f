"""Views of the JSON-contract dicts: Rich tables for people, JSON/NDJSON/CSV/Markdown for tools."""
