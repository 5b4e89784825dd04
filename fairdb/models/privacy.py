"""The differential-privacy budget ledger: every noisy answer given about a dataset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fairdb.models.base import Base, utcnow


class PrivacySpend(Base):
    """Epsilon spent on one noisy summary of a dataset. The dataset's budget minus the sum of
    its rows is what is left; once spent, further noisy queries are refused."""

    __tablename__ = "privacy_spends"
    __table_args__ = (Index("ix_privacy_spends_dataset_id", "dataset_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # what was asked, e.g. "count host_sex" or "mean host_age_value"
    query: Mapped[str] = mapped_column(String(200))
    epsilon: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the released answer: asking the same question again replays it without new spending
    answer: Mapped[Any] = mapped_column(JSONB)
