"""Files shipped inside the package, found with importlib.resources wherever it is installed.

The repository keeps them in its top-level folders, `alembic/` (migrations) and `config/`
(default settings); `syncer/migrations` and `syncer/defaults` link to those folders, so a wheel
carries them as package data and an editable install reads the folders themselves.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(relative: str) -> Path:
    """A path inside the installed package. Alembic and the TOML reader need a real file, and an
    installed wheel or an editable install is a folder on disk, so the path is a plain Path."""
    return Path(str(resources.files("syncer").joinpath(relative)))
