"""Whether two runs printed the same thing: byte for byte, or for JSON plans, the same but for added keys.

A baseline checkout from before a feature prints JSON without the keys that feature added (`skipped`,
issue 13, appears in every plan since). Byte identity is then impossible; what matters is that every
finding, step and count the baseline printed is still printed, unchanged. `compare` says which of the two
holds, or that neither does.
"""

from __future__ import annotations

import json
from typing import Any


def _without_added(current: Any, baseline: Any, added: set[str], path: str = "") -> Any:
    """`current` with every dictionary key the baseline lacks at the same place removed (names in `added`)."""
    if isinstance(current, dict) and isinstance(baseline, dict):
        kept = {}
        for key, value in current.items():
            if key in baseline:
                kept[key] = _without_added(value, baseline[key], added, f"{path}.{key}")
            else:
                added.add(f"{path}.{key}".lstrip("."))
        return kept
    if isinstance(current, list) and isinstance(baseline, list) and len(current) == len(baseline):
        return [_without_added(c, b, added, f"{path}[]") for c, b in zip(current, baseline, strict=True)]
    return current


def compare(baseline: bytes, current: bytes) -> str:
    """"identical", "same but added KEYS" (JSON only), or "DIFFERENT"."""
    if baseline == current:
        return "identical"
    try:
        old, new = json.loads(baseline), json.loads(current)
    except ValueError:
        return "DIFFERENT"
    added: set[str] = set()
    if _without_added(new, old, added) == old and added:
        return "same but added " + ", ".join(sorted(added))
    return "DIFFERENT"
