"""A separate process running the expiry job: `expire_worker.py URL NOW BATCH`.

Prints "ready" once connected, waits for a line on stdin (so that the test starts every
worker at the same moment), expires points as of NOW (ISO 8601) in batches of BATCH and
prints the number of EXPIRED entries it wrote.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from sqlalchemy import text

from loyalty_gql.db.engine import create_database
from loyalty_gql.services.points.expiry import expire_points


async def main(url: str, now: datetime, batch_size: int) -> None:
    db = create_database(url, pool_size=2)
    async with db.engine.connect() as conn:  # connected before the start signal
        await conn.execute(text("SELECT 1"))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    written = await expire_points(db, clock=lambda: now, batch_size=batch_size)
    await db.dispose()
    sys.stdout.write(f"{written}\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])))
