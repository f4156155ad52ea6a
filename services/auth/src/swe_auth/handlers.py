"""Every event auth consumes and its handler, in one place (each service's ``handlers.py``)."""

from __future__ import annotations

from swe_auth.mail.delivery import MailDelivery, project_deleted, project_snapshot
from swe_auth.mail.sender import Sender
from swe_auth.settings import Settings
from swe_common.events import Subscription


def subscriptions(settings: Settings, sender: Sender) -> list[Subscription]:
    mail = MailDelivery(settings, sender)
    prefix = settings.consumer_queue_prefix
    return [
        Subscription(
            queue=f"{prefix}.mail",
            handlers={
                "auth.password_reset.requested": mail.password_reset,
                "auth.email_verification.requested": mail.email_verification,
                "auth.registration.attempted": mail.registration_attempted,
                "issues.issue.assigned": mail.issue_assigned,
                "issues.pr.reviewed": mail.review_finished,
                "agents.run.failed": mail.run_failed,
            },
        ),
        # The project-owner read model the opt-in notices need.
        Subscription(
            queue=f"{prefix}.projects",
            handlers={
                "projects.project.created": project_snapshot,
                "projects.project.updated": project_snapshot,
                "projects.project.deleted": project_deleted,
            },
        ),
    ]
