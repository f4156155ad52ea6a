from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import utcnow
from swe_issues.models import Base


class WebhookDelivery(Base):
    """GitHub delivery ids already applied: GitHub redelivers under the same id with a new
    event id from projects, which the inbox alone would not catch."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    event: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    action: Mapped[str | None] = mapped_column(sa.String(50))
    # applied | stale | ignored (null: recorded before outcomes were kept).
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    received_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
