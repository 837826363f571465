"""Reading a document that may be JSON or YAML (rules, programs, configs)."""

from __future__ import annotations

import json
from typing import Any

import yaml


def json_or_yaml(text: str) -> Any:
    """The value of JSON or YAML text; JSON first, since its errors read better.

    Raises ValueError with the first line of YAML's complaint when it is neither."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
