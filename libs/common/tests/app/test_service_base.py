"""Each service's declarative base resolves class names among its own classes only."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Mapped, configure_mappers, mapped_column, relationship

from swe_common.db import ServiceBase, schema_metadata


def _service(schema: str) -> tuple[type, type]:
    class Base(ServiceBase):
        __abstract__ = True
        metadata = schema_metadata(schema)

    class Owner(Base):
        __tablename__ = "owners"
        id: Mapped[int] = mapped_column(primary_key=True)
        things: Mapped[list[Thing]] = relationship(back_populates="owner")

    class Thing(Base):
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(primary_key=True)
        owner_id: Mapped[int] = mapped_column(sa.ForeignKey(f"{schema}.owners.id"))
        owner: Mapped[Owner] = relationship(back_populates="things")

    return Owner, Thing


def test_two_services_may_have_classes_of_the_same_name_in_one_process():
    """Tools and tests import every service's modules; each service names its own ``Owner``."""
    first_owner, first_thing = _service("first_service")
    second_owner, second_thing = _service("second_service")
    configure_mappers()
    assert inspect(first_owner).relationships["things"].mapper.class_ is first_thing
    assert inspect(second_owner).relationships["things"].mapper.class_ is second_thing
