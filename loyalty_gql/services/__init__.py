"""Use cases: one async function per command; each owns its transaction."""
