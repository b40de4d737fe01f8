"""A client certificate's dates, read before a connection depends on it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from onexgen.support.certificates import out_of_date

# CN=onexgen_worker, valid 2020-01-01 to 2020-02-01 (infra/secure/certs.sh made it).
JANUARY_2020 = """\
-----BEGIN CERTIFICATE-----
MIIBiDCCAS+gAwIBAgIQLXDsBpG4RjZHuKVpCT7qSjAKBggqhkjOPQQDAjAbMRkw
FwYDVQQDDBBvbmV4Z2VuIGxvY2FsIENBMB4XDTIwMDEwMTAwMDAwMFoXDTIwMDIw
MTAwMDAwMFowGTEXMBUGA1UEAwwOb25leGdlbl93b3JrZXIwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQ0WZ/L01X9oTBK6kjhwHNTEPvDAIkHsYPO8UAUnw6Up+4i
bBUwL+ku1lomEjGeu3UrHIOzqY0rzRVCx6xU3c+Eo1cwVTATBgNVHSUEDDAKBggr
BgEFBQcDAjAdBgNVHQ4EFgQUZLKrr6Mv1aKTdBIiNDwjIJP1oAwwHwYDVR0jBBgw
FoAUjr+HR29vGd3AHpIVs8tMv7/kaBkwCgYIKoZIzj0EAwIDRwAwRAIgKJxFdEKS
ZJFAgLbKvkK9WIQYIk4elHPuapTGrJR0OP0CID1wOnFBC+kwctAum+qmob1+3JA3
uqOks60JMJrLsU8A
-----END CERTIFICATE-----
"""


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    path = tmp_path / "client.crt"
    path.write_text(JANUARY_2020)
    return path


def _at(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, tzinfo=UTC).timestamp()


def test_out_of_date_after_not_after_says_expired_on_that_day(cert: Path) -> None:
    assert out_of_date(cert, now=_at(2020, 3, 1)) == "expired on 2020-02-01 00:00 UTC"


def test_out_of_date_before_not_before_says_not_valid_yet(cert: Path) -> None:
    assert out_of_date(cert, now=_at(2019, 12, 1)) == \
        "is not valid before 2020-01-01 00:00 UTC"


def test_out_of_date_within_validity_returns_none(cert: Path) -> None:
    assert out_of_date(cert, now=_at(2020, 1, 15)) is None


def test_out_of_date_unreadable_file_returns_none(tmp_path: Path) -> None:
    (tmp_path / "junk.crt").write_text("not a certificate")
    assert out_of_date(tmp_path / "junk.crt") is None
    assert out_of_date(tmp_path / "missing.crt") is None
