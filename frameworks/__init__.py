"""Quality frameworks (EQUASS, its announced revision, the Czech standards, E-Qalin) as data,
and the check of an organisation's own framework (`own_framework`).

Pure: it reads only its own data files and knows nothing of Telegram, dialogs or storage.
"""

from frameworks.own_framework import (
    OwnFrameworkCheck,
    check_own_framework,
    is_framework_document,
    own_framework_yaml,
)
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
    "OwnFrameworkCheck",
    "check_own_framework",
    "default_frameworks",
    "is_framework_document",
    "load_frameworks",
    "own_framework_yaml",
]
