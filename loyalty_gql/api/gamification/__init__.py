"""GraphQL of badges and challenges (issue #18)."""
