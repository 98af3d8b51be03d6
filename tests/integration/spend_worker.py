"""A separate process spending points concurrently: `spend_worker.py URL CUSTOMER N`.

Prints one outcome per spend (OK or the error code).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from loyalty_gql.db.engine import create_database
from loyalty_gql.domain.errors import DomainError
from loyalty_gql.services.core.common import Actor
from loyalty_gql.services.core.idempotency import Idempotency
from loyalty_gql.services.points import spend_points


async def main(url: str, customer_id: int, count: int) -> None:
    db = create_database(url, pool_size=count)

    async def spend() -> str:
        try:
            await spend_points(
                db,
                customer_id=customer_id,
                points=100,
                source_ref=None,
                actor=Actor("service", "worker"),
                clock=lambda: datetime(2026, 1, 15, 12, tzinfo=UTC),
                retry=Idempotency("spendPoints"),
            )
        except DomainError as error:
            return error.problems[0].code.value
        return "OK"

    outcomes = await asyncio.gather(*(spend() for _ in range(count)))
    await db.dispose()
    sys.stdout.write("\n".join(outcomes) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
