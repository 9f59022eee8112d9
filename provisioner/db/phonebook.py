"""A tenant's phonebook (issue 15): the entries imported from its CSV.

Not ``Rendered``: a device's config only points at the phonebook (a URL that does not change),
and the phones fetch the phonebook itself on their own schedule, so an import neither moves the
inventory revision nor sends a resync NOTIFY (docs/vendors.md, "Phonebook").
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from provisioner.db.models import Base


class PhonebookEntry(Base):
    __tablename__ = "phonebook_entries"
    __table_args__ = (Index("ix_phonebook_entries_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    reading: Mapped[str] = mapped_column(String(100), default="")
    group: Mapped[str] = mapped_column(String(50), default="")
    numbers: Mapped[list[list[str]]] = mapped_column(JSON)  # [[kind, number], ...]
