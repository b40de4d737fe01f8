"""Requests for pool tests; ``TestHang``/``TestSlow`` names act only in pools with test hooks."""

from __future__ import annotations

import orjson


def raw_request(rid: str, name: str = "UserStore", node_type: str = "effect",
                mixins: tuple[str, ...] = ("Retry", "Metrics"), description: str = "") -> bytes:
    return orjson.dumps({"request_id": rid, "node_type": node_type, "name": name,
                         "domain": "identity", "description": description or rid,
                         "mixins": list(mixins)})
