"""A YAML reader for the project's data files that refuses what YAML would silently bend.

In a flow mapping (``{vi: ..., en: ...}``) an unquoted comma ends a value:
``{vi: Không áp dụng (phường, thị trấn), en: ...}`` reads as ``vi: "Không áp
dụng (phường"`` plus a key ``"thị trấn)"`` with no value. A clerk then sees the
cut label in a drop-down and the reader rejects what the template offered.
Every data file under ``schemas/`` is read through :func:`load_strict`, which
refuses such a key-without-value and a duplicated key, naming the line, so a
cut label fails at load (and in ``tests/unit/test_schema_files.py``), never at
a deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode


class StrictYamlError(ValueError):
    """A data file that YAML would read differently from how it reads to a person."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                if key_node.value in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    raise StrictYamlError(
                        f"line {key_node.start_mark.line + 1}: key {key_node.value!r} repeated"
                    )
                seen.add(key_node.value)
            if (
                node.flow_style
                and isinstance(value_node, ScalarNode)
                and value_node.tag == "tag:yaml.org,2002:null"
                and value_node.value == ""
            ):
                raise StrictYamlError(
                    f"line {key_node.start_mark.line + 1}: {key_node.value!r} has no value in a "
                    "{...} mapping; a comma inside a text cuts it there: quote the text"
                )
        return super().construct_mapping(node, deep=deep)


def load_strict(text: str) -> Any:
    """Parse YAML text, refusing a flow-mapping key without a value and a repeated key."""
    return yaml.load(text, Loader=_StrictLoader)


def load_strict_file(path: Path) -> Any:
    try:
        return load_strict(path.read_text(encoding="utf-8"))
    except StrictYamlError as exc:
        raise StrictYamlError(f"{path.name}: {exc}") from exc
