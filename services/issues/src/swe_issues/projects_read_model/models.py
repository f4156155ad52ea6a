"""The local copy of what this service needs to know about projects (fed by projects.*); the
columns and rules are the common read model's (``swe_common.projects_read_model``)."""

import sqlalchemy as sa

from swe_common.projects_read_model import ProjectReadModelMixin
from swe_issues.models import Base


class ProjectView(ProjectReadModelMixin, Base):
    __tablename__ = "project_views"


sa.Index("ix_project_views_members", ProjectView.members, postgresql_using="gin")
