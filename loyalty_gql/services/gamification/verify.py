"""`loyalty-gql verify`, for badges and challenges: each customer's stored badge codes are
the badges they hold, and each (challenge, customer)'s completions are numbered 1..n."""

from __future__ import annotations

from loyalty_gql.db.engine import Database
from loyalty_gql.db.repositories.gamification import badge_codes_mismatches, duplicate_completions
from loyalty_gql.db.repositories.points.verify import consistent_snapshot


async def verify_gamification(db: Database) -> list[str]:
    """What disagrees, in words; [] when everything does."""
    async with consistent_snapshot(db) as session:
        customers = await badge_codes_mismatches(session)
        gaps = await duplicate_completions(session)
    return [
        *(f"customer {pk}: stored badge codes differ from the badges held" for pk in customers),
        *(
            f"challenge {challenge}, customer {customer}: completions are not numbered 1..n"
            for challenge, customer in gaps
        ),
    ]
