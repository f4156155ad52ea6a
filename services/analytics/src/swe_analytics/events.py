"""The events analytics consumes: one queue bound to every type it keeps."""

from swe_analytics.projections import ENTITY_KEYS, STORED_ONLY_TYPES
from swe_analytics.service import handle_event
from swe_common.events import Subscription

CONSUMED_TYPES = (*ENTITY_KEYS, *STORED_ONLY_TYPES)
QUEUE = "analytics.events"


def subscription(queue: str = QUEUE) -> Subscription:
    # Explicit types rather than wildcards: auth.password_reset.requested carries a reset
    # token and auth.audit.recorded client addresses, neither of which belongs in analytics.
    return Subscription(queue=queue, handlers={t: handle_event for t in CONSUMED_TYPES})
