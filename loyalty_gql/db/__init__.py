"""Storage: SQLAlchemy models, the engine, repositories and migrations."""
