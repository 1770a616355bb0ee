"""Reading the JSON files neurodeploy writes (run configs, metrics), one line per fault."""
from __future__ import annotations

import json
from pathlib import Path

from neurodeploy.errors import BadInputError


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BadInputError(f"{path}: missing") from None
    except json.JSONDecodeError as e:
        raise BadInputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
