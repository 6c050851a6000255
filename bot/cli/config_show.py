"""`citebot config show`: the effective settings, each with where it came from, as data and as TOML."""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from citebot.config.settings import LoadedConfig


def _plain(value: Any) -> Any:
    """A setting as TOML and JSON write it: paths as strings (relative to the working directory when inside it)."""
    if isinstance(value, Path):
        try:
            return str(value.relative_to(Path.cwd()))
        except ValueError:
            return str(value)
    return value


def config_as_data(loaded: LoadedConfig) -> dict[str, dict[str, dict[str, Any]]]:
    """{section: {key: {"value": ..., "from": "default" | a config file}}}."""
    data: dict[str, dict[str, dict[str, Any]]] = {}
    for section in fields(loaded.settings):
        values = getattr(loaded.settings, section.name)
        data[section.name] = {
            f.name: {"value": _plain(getattr(values, f.name)), "from": loaded.origins.get(f"{section.name}.{f.name}",
                                                                                          "default")}
            for f in fields(values)
        }
    return data


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def render_config(loaded: LoadedConfig) -> str:
    """The effective settings as a TOML file would hold them, each line ending with where its value came from."""
    files = " over ".join(os.path.relpath(p) if p.is_absolute() else str(p) for p in reversed(loaded.files))
    lines = [f"# effective settings: {files}"]
    for section, values in config_as_data(loaded).items():
        lines.append(f"\n[{section}]")
        rows = [(f"{key} = {_toml(item['value'])}", item["from"]) for key, item in values.items()]
        width = min(max(len(text) for text, _ in rows), 60)
        lines += [f"{text:<{width}}  # {origin}" for text, origin in rows]
    return "\n".join(lines)
