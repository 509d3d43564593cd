"""Script configuration: dataclass defaults < YAML file (``--config``) < command-line flags.

Scripts declare their flags with ``default=argparse.SUPPRESS`` so that only flags actually given
override the YAML; :func:`resolve_config` merges the three layers into the script's dataclass and
names the offending key or flag on error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import yaml


class ConfigError(ValueError):
    pass


def load_yaml(path: str | Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"--config {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping of option names to values")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def resolve_config(cls, args: argparse.Namespace):
    """Build ``cls`` from its defaults, the YAML named by ``args.config`` (if any) and the given flags."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    config_path = getattr(args, "config", None)
    if config_path:
        data = load_yaml(config_path)
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"--config {config_path}: unknown option(s) {unknown}; valid: {sorted(names)}")
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        values.update({k: _coerce(v, types[k], f"--config {config_path}: {k}") for k, v in data.items()})
    values.update({k: v for k, v in vars(args).items() if k in names})
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in values:
            raise ConfigError(f"--{name.replace('_', '-')} is required (on the command line or in --config)")
    return cls(**values)


def _coerce(value, annotation: str, where: str):
    """YAML reads ``3e-3`` as a string (YAML 1.1 floats need a dot): convert scalars to the field's type."""
    if value is None or not isinstance(value, str) or annotation.startswith("str"):
        return value
    for name, kind in (("int", int), ("float", float)):
        if annotation.startswith(name):
            try:
                return kind(value)
            except ValueError:
                raise ConfigError(f"{where} must be {name}, got {value!r}") from None
    return value


def default_help(cls, name: str, text: str) -> str:
    """Help text with the dataclass default appended."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    if default is dataclasses.MISSING:
        return f"{text} (required)"
    return f"{text} (default: {' '.join(map(str, default)) if isinstance(default, (list, tuple)) else default})"


def require(condition: bool, message: str) -> None:
    """Raise ``ConfigError(message)`` unless ``condition``: one line per argument check in a script."""
    if not condition:
        raise ConfigError(message)


def usage_error(error: Exception | str) -> int:
    """Report a bad argument as one line on stderr; returns the exit status for ``main``."""
    sys.stderr.write(f"error: {error}\n")
    return 2


def config_parser(cls, description: str, helps: dict[str, str]) -> argparse.ArgumentParser:
    """A script's parser: ``--config`` (YAML) plus one flag per field of ``cls`` (see below)."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                                argument_default=argparse.SUPPRESS)
    p.add_argument("--config", default=None, help="YAML file of options (flags given here override it)")
    add_config_arguments(p, cls, helps)
    return p


def add_config_arguments(parser: argparse.ArgumentParser, cls, helps: dict[str, str]) -> None:
    """One ``--flag-name`` per dataclass field (types from the annotations; booleans get ``--no-...``),
    all defaulting to ``argparse.SUPPRESS`` so that :func:`resolve_config` sees only flags given."""
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        text = default_help(cls, f.name, helps.get(f.name, f.name.replace("_", " ")))
        annotation = str(f.type)
        if annotation == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text)
            continue
        kind = int if annotation.startswith("int") else float if annotation.startswith("float") else str
        parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=text)
