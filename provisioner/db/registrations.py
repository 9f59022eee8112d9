"""What the provisioner learned from the PBX cores about each line's registration (issue 13).

One row per (account, core) that ever had a contact there, kept after the contact goes away: a
line that was registered and is not any more is what support asks about ("registered then
lost"). One row per core says when it was last read, so a core that does not answer makes its
lines "unknown", never "unregistered".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioner.db.models import Account, Base, utcnow


class PbxCore(Base):
    __tablename__ = "pbx_cores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # the reader's URL
    read_at: Mapped[dt.datetime | None] = mapped_column()  # last successful read
    attempted_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)  # of the last attempt; None when it read


class LineRegistration(Base):
    __tablename__ = "line_registrations"
    __table_args__ = (UniqueConstraint("account_id", "core_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    core_id: Mapped[int] = mapped_column(ForeignKey("pbx_cores.id", ondelete="CASCADE"))
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(80))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lost_at: Mapped[dt.datetime | None] = mapped_column()  # when it stopped being registered
    alerted_at: Mapped[dt.datetime | None] = mapped_column()  # line_unregistered raised

    account: Mapped[Account] = relationship()
    core: Mapped[PbxCore] = relationship()
