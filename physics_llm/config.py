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


def add_config_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give a plain argparse parser the ``--config`` flag read by :func:`parse_args_with_config`."""
    parser.add_argument("--config", default=None,
                        help="YAML file of options named like the flags (flags given here override it)")
    return parser


def parse_args_with_config(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args(argv)`` where the YAML named by ``--config`` supplies the defaults.

    For scripts whose options are plain argparse flags rather than a dataclass: keys are flag names
    (``num-scenes`` or ``num_scenes``); an unknown key is an error naming the valid ones; a required
    flag (or a required group) given in the file is no longer required on the command line; values go
    through the flag's own type conversion and checks, exactly as if typed."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.config:
        try:
            data = load_yaml(known.config)
        except ConfigError as e:
            parser.error(str(e))
        actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "config")}
        unknown = sorted(set(data) - set(actions))
        if unknown:
            parser.error(f"--config {known.config}: unknown option(s) {unknown}; valid: {sorted(actions)}")
        for key, value in data.items():
            action = actions[key]
            action.required = False
            if isinstance(value, list) and action.nargs is None:
                parser.error(f"--config {known.config}: {key} takes one value, got a list")
            if action.type is not None and value is not None and not isinstance(value, (bool, list)):
                value = str(value)  # through the flag's own type, as if typed on the command line
            elif action.type is not None and isinstance(value, list):
                value = [action.type(str(v)) for v in value]
            parser.set_defaults(**{key: value})
        for group in parser._mutually_exclusive_groups:
            if any(a.dest in data for a in group._group_actions):
                group.required = False
    return parser.parse_args(argv)
