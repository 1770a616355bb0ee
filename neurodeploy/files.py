"""Reading the JSON files neurodeploy writes (run configs, metrics), one line per fault."""
from __future__ import annotations

import json
from pathlib import Path

from neurodeploy.errors import BadInputError

MAX_JSON_BYTES = 64 * 1024 * 1024  # configs and metrics are kilobytes; refuse before reading a huge file


def read_json(path: Path) -> dict:
    path = Path(path)
    try:
        if path.is_dir():
            raise BadInputError(f"{path}: is a folder, expected a JSON file")
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise BadInputError(f"{path}: {size:,} bytes, more than a JSON file of neurodeploy's can hold "
                                f"({MAX_JSON_BYTES:,})")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{path}: missing") from None
    except json.JSONDecodeError as e:
        raise BadInputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise BadInputError(f"{path}: not valid JSON (nested too deeply)") from None
    except OSError as e:
        raise BadInputError(f"{path}: cannot be read ({e.strerror or type(e).__name__})") from None
