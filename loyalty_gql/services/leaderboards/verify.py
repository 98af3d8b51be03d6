"""`loyalty-gql verify`'s leaderboard part: every stored score count agrees with a recount
of the scores (the counts a rank is read from; docs/ARCHITECTURE.md, "Leaderboards")."""

from __future__ import annotations

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.leaderboards import count_mismatches


async def verify_leaderboards(db: Database) -> list[str]:
    """One line per score-count bucket that differs from its recount (none expected)."""
    async with db.read_sessions() as session:
        wrong = await count_mismatches(session)
    return [
        f"leaderboard {board} period {period}: the count of level {level} bucket {bucket} "
        "differs from its scores"
        for board, period, level, bucket in wrong
    ]
