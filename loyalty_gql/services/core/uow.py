"""The unit of work: one write transaction that rolls back unless committed."""

from __future__ import annotations

from types import TracebackType

from loyalty_gql.db.engine import Database
from loyalty_gql.db.session import Session


class UnitOfWork:
    """A write session; leaving the block without ``commit()`` rolls everything back."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The session of the open transaction."""
        if self._session is None:
            msg = "the unit of work is not open"
            raise RuntimeError(msg)
        return self._session

    @property
    def is_postgres(self) -> bool:
        """Whether row locks (SELECT ... FOR UPDATE) are available and needed."""
        return not self._db.is_sqlite

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._db.write_sessions()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and, unlike rollback(),
        # leaves the loaded rows readable for building the response.
        session = self.session
        self._session = None
        await session.close()

    async def commit(self) -> None:
        """Make the transaction's changes permanent."""
        await self.session.commit()
