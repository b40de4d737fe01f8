#!/usr/bin/env python3
"""Exit 0 when the Kafka broker at HOST:PORT answers a Metadata request listing a broker.

Plain sockets and the standard library, so it runs before the project's venv exists.
An open port is not enough: a KRaft broker accepts connections before it has
registered with its controller, and clients then see empty metadata.
"""

import socket
import struct
import sys


def _request(api_key: int, version: int, body: bytes) -> bytes:
    client = b"onexgen-ready"
    header = struct.pack(">hhih", api_key, version, 1, len(client)) + client
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _read(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def broker_count(host: str, port: int) -> int:
    with socket.create_connection((host, port), timeout=2) as sock:
        # Metadata v4: topics = null (all), allow_auto_topic_creation = false.
        sock.sendall(_request(3, 4, struct.pack(">ib", -1, 0)))
        (size,) = struct.unpack(">i", _read(sock, 4))
        resp = _read(sock, size)
        # correlation_id int32, throttle_time_ms int32, brokers array int32
        (count,) = struct.unpack(">i", resp[8:12])
        return int(count)


def main() -> int:
    host, _, port = sys.argv[1].rpartition(":")
    try:
        return 0 if broker_count(host, int(port)) >= 1 else 1
    except (OSError, struct.error, ValueError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
