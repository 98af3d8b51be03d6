"""Gamification (issue #18): badges, challenges and leaderboards, the pure rules.

- :mod:`.badges`: badge types and the customer's badge list (earned, locked, hidden).
- :mod:`.challenges`: goals over a time window, a customer's progress from the facts
  the database holds, completions due, and the milestones that send
  CHALLENGE_PROGRESS.
- :mod:`.leaderboards`: periods in the site's timezone, ranking with shared ranks,
  the names shown, the viewer's neighbours and who wins what at period end.
- :mod:`.rewards`: what a completed challenge or a leaderboard place gives.

Nothing here reads a clock or a database: the services bring ``now``, the site's
zone and the customer's facts, and keep what these functions decide.
"""
