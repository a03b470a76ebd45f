"""immuno: cancer-immunotherapy trial results as a library and a command.

    >>> from immunocli import load, Catalogue
    >>> cat = Catalogue(load())
    >>> cat.trial("KN-942").name
    'KEYNOTE-942'

Names are imported on first use so that `immuno` itself starts without loading the whole library.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "load": "loader", "Catalogue": "queries", "ImmunoError": "errors", "DataError": "errors",
    "NotFound": "errors", "Ambiguous": "errors", "UsageError": "errors",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'immunocli' has no attribute {name!r}")
