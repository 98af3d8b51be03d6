"""Badges and challenges (issue #18): admin definitions, grants, and the progress that
completing orders and recording activities make (docs/ARCHITECTURE.md, "Badges and
challenges")."""
