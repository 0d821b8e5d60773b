"""A script as YAML text: what is stored for a workbook upload and what a YAML download gives.

The text reads back (through `dialogs.validate`) to an equal `Script`. Values
equal to their defaults are left out, so the text shows what the author set;
short structures (languages, mappings, conditions) are written on one line as
the shipped scripts write them.
"""

from __future__ import annotations

from typing import Any

import yaml

from dialogs.model import Script

# Keys whose values read best on one line: `maps_to: {equass: [rights]}`.
_ONE_LINE = frozenset({"languages", "needs_review", "pulse", "maps_to", "show_if", "safeguard_if"})


class _OneLine(dict[str, Any]):
    pass


class _OneLineList(list[Any]):
    pass


class _Dumper(yaml.SafeDumper):
    """Safe YAML, never with anchors: the validator refuses them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # lists indented under their key, as the shipped scripts are written
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _OneLine, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)
_Dumper.add_representer(
    _OneLineList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def script_to_yaml(script: Script) -> str:
    data = script.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    return yaml.dump(
        _styled(data, None),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        default_flow_style=False,
    )


def _styled(value: Any, key: str | None) -> Any:
    if isinstance(value, dict):
        out = {k: _styled(v, k) for k, v in value.items()}
        return _OneLine(out) if key in _ONE_LINE else out
    if isinstance(value, list):
        items = [_styled(v, None) for v in value]
        return _OneLineList(items) if key in _ONE_LINE else items
    return value
