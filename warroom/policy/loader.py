"""Load a policy by preset name or path, with every error as `path.to.field: what is wrong`."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from warroom.domain.errors import PolicyError
from warroom.policy.model import Policy

PRESET_DIR = Path(__file__).parent / "presets"


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def resolve_source(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise PolicyError(name_or_path, [f"no policy file at {candidate}"])
        return candidate
    preset = PRESET_DIR / f"{name_or_path}.yaml"
    if not preset.is_file():
        known = ", ".join(list_presets())
        raise PolicyError(name_or_path, [f"no preset named '{name_or_path}'; presets: {known}"])
    return preset


_PATHED = re.compile(r"^[\w.\-]+: ")


def _problems(exc: ValidationError) -> list[str]:
    """Flatten pydantic errors; validators that already name full paths keep them."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = " ".join(err["msg"].removeprefix("Value error, ").split())
        parts = msg.split("; ")
        if all(_PATHED.match(part) for part in parts):
            out.extend(parts)
        else:
            out.append(f"{path}: {msg}")
    return out


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): a policy file must be a YAML mapping"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, _problems(exc)) from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice: YAML would silently keep the last one."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' appears twice (first on line {seen[key] + 1}); the second would replace the first",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return dict(loader.construct_pairs(node, deep=True))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where in the file, and what is wrong."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"(yaml) line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return f"{where}: {' '.join(what.split()) or 'not valid YAML'}"
    return f"(yaml): {' '.join(str(exc).split())}"


def parse_policy_text(text: str, source: str = "<policy>") -> Policy:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no object construction
    except yaml.YAMLError as exc:
        raise PolicyError(source, [_yaml_problem(exc)]) from None
    return parse_policy(data, source)


def read_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(str(path), ["(file): not UTF-8 text"]) from None
    except OSError as exc:
        raise PolicyError(str(path), [f"(file): {exc.strerror or exc}"]) from None
    return parse_policy_text(text, str(path))


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime: float) -> Policy:
    return read_policy_file(Path(path))


def load_policy(name_or_path: str) -> Policy:
    path = resolve_source(name_or_path)
    return _load_cached(str(path.resolve()), path.stat().st_mtime)
