"""The shops (sites) and their program settings."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty_gql.db.models.base import Base, BigId
from loyalty_gql.db.types import DecimalText, JSONDoc, UTCDateTime


class SiteRow(Base):
    """A shop served by this deployment, with its program settings."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    program_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    earn_rate: Mapped[Decimal] = mapped_column(DecimalText)
    points_rounding: Mapped[str] = mapped_column(String(16))
    participation: Mapped[str] = mapped_column(String(32))
    order_points_pending: Mapped[bool] = mapped_column(Boolean, default=True)
    validity_policy: Mapped[str] = mapped_column(String(16))
    validity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    threshold_reward: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    newsletter_signup_points: Mapped[int] = mapped_column(Integer, default=0)
    product_review_points: Mapped[int] = mapped_column(Integer, default=0)
    referral_points: Mapped[int] = mapped_column(Integer, default=0)
    custom_activities: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    expiry_warning_days: Mapped[list[int]] = mapped_column(JSONDoc)
    exchange_limits: Mapped[dict[str, Any]] = mapped_column(JSONDoc, server_default=text("'{}'"))
    settings_version: Mapped[int] = mapped_column(Integer, default=1)
    point_value: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    # bumped with every change of the site's offers or stacking groups, so each
    # process knows when its cached index of live offers is stale
    offers_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # bumped with every change of the site's campaigns (0: it never had one, so
    # pricing skips them without a statement)
    campaigns_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # the language and region money and dates are written in for notifications
    locale: Mapped[str] = mapped_column(String(35), default="en", server_default=text("'en'"))
    # IANA name of the zone whose calendar days points expire on and are warned on
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default=text("'UTC'"))
    # bumped at commit by every write of the site's own rows (offers, tiers, settings...),
    # so cached customer answers know they are stale (db/versions.py)
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # referrals: how many friends one referrer may bring per month (null: no cap), and
    # the reward or coupon offer a friend's welcome voucher comes from (null: none)
    referral_monthly_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    referral_welcome_offer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # leaderboards: how many are live (0: a ledger earn or an order writes no score, no
    # statement), a version bumped by every change of the site's boards (the cached list
    # of live boards), and the key of the anonymous labels customers appear by
    live_leaderboards: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    leaderboards_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    leaderboard_label_key: Mapped[str] = mapped_column(
        String(32), default=lambda: secrets.token_hex(16)
    )
    # challenges: how many are published (0: completing an order or recording an
    # activity writes no challenge progress, no statement)
    live_challenges: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
