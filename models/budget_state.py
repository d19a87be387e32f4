"""Budget decisions as stored (``aarshjul budget import``): one row per (year, committee,
initiative), the initiative matched by :func:`models.budget.title_key`. A re-import of the
same line updates its row (idempotent). Alembic revision ``0003_budget`` creates the table.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime


class BudgetDecision(SQLModel, table=True):
    __tablename__ = "budget_decisions"
    __table_args__ = (
        sa.UniqueConstraint("year", "committee", "initiative_key", name="uq_budget_decision"),
    )
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    committee: str = Field(max_length=40)
    initiative: str = Field(max_length=500)  # the title as written in the CSV
    initiative_key: str = Field(max_length=500)  # models.budget.title_key(initiative)
    goal: str | None = Field(default=None, max_length=40)
    amount_dkk: int | None = Field(default=None, sa_type=sa.BigInteger)  # granted; None: as asked
    funded: str = Field(max_length=10)  # yes | no | partly
    source: str = Field(default="", max_length=255)  # the imported file's name
    recorded_at: datetime = Field(default=None, sa_type=UTCDateTime, nullable=False)
