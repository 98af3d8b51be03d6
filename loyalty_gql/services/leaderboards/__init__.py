"""Leaderboards: scores kept in the transactions that cause them (scores), the admins'
boards (boards) and what a customer sees of them (views). The period-end prizes are
the job in services/leaderboard_prizes.py (it gives points and vouchers, areas above)."""

from __future__ import annotations

from loyalty_gql.services.leaderboards.boards import (
    BoardChanges,
    BoardTerms,
    PrizeTerms,
    board_site,
    boards_page,
    create_board,
    set_published,
    update_board,
)
from loyalty_gql.services.leaderboards.scores import (
    board_of,
    count_amount_spent,
    count_challenge_completed,
    count_points_earned,
)
from loyalty_gql.services.leaderboards.views import (
    BoardSummary,
    BoardView,
    board_summaries,
    set_display_name,
    viewer_boards,
)

__all__ = [
    "BoardChanges",
    "BoardSummary",
    "BoardTerms",
    "BoardView",
    "PrizeTerms",
    "board_of",
    "board_site",
    "board_summaries",
    "boards_page",
    "count_amount_spent",
    "count_challenge_completed",
    "count_points_earned",
    "create_board",
    "set_display_name",
    "set_published",
    "update_board",
    "viewer_boards",
]
