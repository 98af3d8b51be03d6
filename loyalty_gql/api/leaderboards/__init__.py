"""Leaderboards: the admins' boards and what a customer sees of them."""
