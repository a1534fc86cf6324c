"""The configs that ship with segmnv3: one YAML file per paper row, plus the demo's.

They are package data, so an installed segmnv3 (wheel, ``pip install .``) has them too;
``configs/`` at the top of a clone points here. Commands accept either a path or a
shipped config's name (``table7_row08_v3large_rf2_lraspp_f128_os16``, with or without
``.yaml``).
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from segmnv3.core.errors import ConfigError
from segmnv3.core.safe_io import special_file_reason


def config_dir() -> Path:
    """The folder holding the shipped YAML files."""
    return Path(str(resources.files(__name__)))


def shipped_configs() -> list[Path]:
    """Every shipped config, sorted by name."""
    return sorted(config_dir().glob("*.yaml"))


def paper_configs() -> list[Path]:
    """The configs that reproduce a paper row (``table7_*``, ``table8_*``), sorted."""
    return sorted(config_dir().glob("table*.yaml"))


def resolve_config(name_or_path: str | Path) -> Path:
    """A config file path from a path (tried first) or the name of a shipped config.

    Raises:
        ConfigError: neither an existing file nor a shipped config name; lists the names.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    reason = special_file_reason(path)
    if reason != "missing":  # a folder, a FIFO, a symlink loop: say what it is
        raise ConfigError(f"config file {path} is {reason}; give a YAML file")
    name = path.name if path.suffix == ".yaml" else f"{path.name}.yaml"
    shipped = config_dir() / name
    if shipped.is_file() and (len(path.parts) == 1 or path.parent.name == "configs"):
        return shipped
    stems = [p.stem for p in shipped_configs()]
    close = [s for s in stems if path.stem.lower() in s] if len(path.stem) >= 3 else []
    close = close if len(close) == 1 else difflib.get_close_matches(path.stem, stems, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise ConfigError(
        f"config file {name_or_path} does not exist and is not a shipped config name; "
        f"{hint}give a YAML path or one of: {', '.join(stems)}"
    )
