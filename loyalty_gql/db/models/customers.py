"""Customers, their enrolment history and referrals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import JSONDoc, UTCDateTime
from loyalty_gql.domain.referrals import new_referral_code


class CustomerRow(Base):
    """A customer the shop registered, unique on (site, external id)."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_customers_site_external_id"),
        Index("ix_customers_site_id_id", "site_id", "id"),
        Index("ix_customers_site_email", "site_id", "email"),
        # a referral code is typed in by the friend: unique per site, looked up upper-cased
        UniqueConstraint("site_id", "referral_code", name="uq_customers_site_referral_code"),
        # the birthday job: a site's customers born on a month and day, in id order
        Index("ix_customers_site_birthday", "site_id", "birth_month", "birth_day", "id"),
        CheckConstraint(
            "(birth_month IS NULL) = (birth_day IS NULL)"
            " AND (birth_year IS NULL OR birth_month IS NOT NULL)",
            name="birth_date_parts",
        ),
        CheckConstraint(
            "birth_month IS NULL OR (birth_month BETWEEN 1 AND 12 AND birth_day BETWEEN 1 AND 31)",
            name="birth_date_range",
        ),
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
    # the customer's personal code a friend registers with (domain.referrals), set on insert
    referral_code: Mapped[str] = mapped_column(String(16), default=new_referral_code)
    # a birth date: month and day, the year optional (29 February allowed)
    birth_month: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    # leaderboards: the name shown there, only while the customer opted in
    display_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    leaderboard_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # gamification: the codes of the badges the customer holds (granted, not revoked),
    # kept with customer_badges in the same transaction, so offers limited to holders of a
    # badge are checked from the customer row checkout, redemption and My offers read
    badge_codes: Mapped[list[str]] = mapped_column(
        JSONDoc, default=list, server_default=text("'[]'")
    )
    # the language messages to the customer are written in (null: the site's), #19
    locale: Mapped[str | None] = mapped_column(String(35), nullable=True)


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
    """A customer who brought another; the referrer earns on the friend's first order.

    The one link between a referrer and a friend, whether the shop recorded it as a
    REFERRAL activity or the friend registered (or enrolled) with the referrer's code;
    one referrer per customer (``uq_referrals_referred``).
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referred_id", name="uq_referrals_referred"),
        # a referrer's friends, and the monthly cap: their links since the month began
        Index("ix_referrals_referrer_created", "referrer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    referred_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rewarded_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True
    )
    # the friend's order that rewarded the referrer (base points or a referral campaign);
    # None: not rewarded yet, or the rewarding order was cancelled
    rewarded_order_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
