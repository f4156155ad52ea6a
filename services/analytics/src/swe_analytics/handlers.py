"""The events analytics consumes (every service's `handlers.py`): one queue bound to every type
it keeps."""

from swe_analytics.ingest.service import handle_event, handle_events
from swe_analytics.projections.merges import ENTITY_KEYS, STORED_ONLY_TYPES
from swe_common.events import Subscription

CONSUMED_TYPES = (*ENTITY_KEYS, *STORED_ONLY_TYPES)
QUEUE = "analytics.events"


def subscription(queue: str = QUEUE, max_batch: int = 100) -> Subscription:
    # Explicit types rather than wildcards: auth.password_reset.requested carries a reset
    # token and auth.audit.recorded client addresses, neither of which belongs in analytics.
    # The messages in hand are ingested together, one transaction per batch (a failing batch
    # falls back to one event per transaction, so a poison event is retried alone).
    return Subscription(
        queue=queue,
        handlers={t: handle_event for t in CONSUMED_TYPES},
        batch_handler=handle_events,
        max_batch=max_batch,
    )
