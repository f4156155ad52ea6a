"""The project snapshot ``P`` and the member events, as the common read model reads them."""

from swe_common.projects_read_model import (
    Member,
    MemberAdded,
    MemberRemoved,
    ProjectDeleted,
    ProjectSnapshot,
)

__all__ = ["Member", "MemberAdded", "MemberRemoved", "ProjectDeleted", "ProjectSnapshot"]
