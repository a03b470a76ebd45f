"""immuno: cancer-immunotherapy trial results as a library and a command.

    >>> from immunocli import load, Catalogue
    >>> cat = Catalogue(load())
    >>> cat.trial("KN-942").name
    'KEYNOTE-942'
"""

__version__ = "0.1.0"

from .errors import Ambiguous, DataError, ImmunoError, NotFound, UsageError  # noqa: E402
from .loader import load  # noqa: E402
from .queries import Catalogue  # noqa: E402

__all__ = ["Ambiguous", "Catalogue", "DataError", "ImmunoError", "NotFound", "UsageError", "load", "__version__"]
