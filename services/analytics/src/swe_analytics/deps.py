"""Typed dependencies of the analytics routes: this service's settings and its database."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from swe_analytics.settings import Settings
from swe_common.db import Database
from swe_common.deps import SettingsDep


def get_analytics_settings(settings: SettingsDep) -> Settings:
    # The app was built by create_app with this service's Settings: one cast, here.
    return cast(Settings, settings)


def get_database(request: Request) -> Database:
    """The app's database, for responses that stream after the request's session is gone."""
    return cast(Database, request.app.state.db)


AnalyticsSettingsDep = Annotated[Settings, Depends(get_analytics_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
