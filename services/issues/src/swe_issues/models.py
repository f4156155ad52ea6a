"""The issues schema's tables: ``Base`` for every domain's models, plus the event tables.

Each domain keeps its tables in its own ``models.py``; they are imported at the bottom so
that Alembic (which reads ``Base.metadata``) sees them all.
"""

from swe_common.db import ServiceBase, schema_metadata
from swe_common.events import define_event_tables


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("issues")


event_tables = define_event_tables(Base.metadata)

# Registers every domain's tables on Base.metadata (must come after Base).
from swe_issues.comments import models as _comments  # noqa: E402, F401
from swe_issues.github import models as _github  # noqa: E402, F401
from swe_issues.issues import models as _issues  # noqa: E402, F401
from swe_issues.projects_read_model import models as _projects  # noqa: E402, F401
from swe_issues.pull_requests import models as _pull_requests  # noqa: E402, F401
from swe_issues.webhooks import models as _webhooks  # noqa: E402, F401
