"""Customers, their enrolment history and referrals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime


class CustomerRow(Base):
    """A customer the shop registered, unique on (site, external id)."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_customers_site_external_id"),
        Index("ix_customers_site_id_id", "site_id", "id"),
        Index("ix_customers_site_email", "site_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    groups: Mapped[list[str]] = mapped_column(JSONDoc)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # bumped at commit by every write of what the customer sees (their account, ledger,
    # vouchers, holdings...), so cached answers know they are stale (db/versions.py)
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class EnrollmentEventRow(Base):
    """Each time a customer joined or left the program, and who did it."""

    __tablename__ = "enrollment_events"
    __table_args__ = (
        CheckConstraint("kind IN ('ENROLLED', 'LEFT')", name="kind"),
        Index("ix_enrollment_events_customer", "customer_id", "id"),
        # insight: who joined or left a site in a period, or since a day
        Index("ix_enrollment_events_site_at", "site_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReferralRow(Base):
    """A customer who brought another; the referrer earns on the friend's first order."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referred_id", name="uq_referrals_referred"),
        Index("ix_referrals_referrer", "referrer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    referred_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rewarded_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
