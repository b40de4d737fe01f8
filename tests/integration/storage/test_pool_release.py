"""A pooled connection comes back as it was left, except for an open transaction."""

from __future__ import annotations

import pytest

from onexgen.storage.pool import create_pool

pytestmark = pytest.mark.integration


async def test_release_open_transaction_rolled_back_session_kept(fresh_database_url: str) -> None:
    pool = await create_pool(fresh_database_url, 1, 1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TEMP TABLE kept (x int)")
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO kept VALUES (1)")
            pid = conn.get_server_pid()
        async with pool.acquire() as conn:  # the pool's only connection, again
            assert conn.get_server_pid() == pid
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM kept") == 0  # rolled back
    finally:
        await pool.close()
