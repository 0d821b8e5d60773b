"""Quality frameworks (EQUASS, its announced revision, the Czech standards, E-Qalin) as data.

Pure: it reads only its own data files and knows nothing of Telegram, dialogs or storage.
"""

from frameworks.registry import (
    DATA_DIR,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Crosswalk,
    Framework,
    FrameworkError,
    Frameworks,
    Item,
    default_frameworks,
    load_frameworks,
)

__all__ = [
    "DATA_DIR",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Crosswalk",
    "Framework",
    "FrameworkError",
    "Frameworks",
    "Item",
    "default_frameworks",
    "load_frameworks",
]
