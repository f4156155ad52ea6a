"""Mail from domain events: which event mails whom, with what.

Two queues (named by ``AUTH_CONSUMER_QUEUE_PREFIX``, ``auth``): ``auth.mail`` sends (retried
with backoff and dead-lettered by the common consumer when the SMTP server fails: a mail
server that is down delays mail, nothing else) and ``auth.projects`` keeps the project-owner
read model the notices need.

Idempotent twice over: the inbox (in the handler's transaction) drops a redelivered event, and
a ``sent_mails`` row keyed by the event id, committed on its own the moment the SMTP server took
the mail, stops a second send when the handler's transaction was lost after the send.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.accounts import repository as accounts
from swe_auth.mail.sender import Mail, Sender
from swe_auth.mail.templates import render
from swe_auth.metrics import MAILS
from swe_auth.models import ProjectOwner, SentMail, User
from swe_auth.notifications import repository as notices
from swe_auth.settings import Settings
from swe_common.db import utcnow
from swe_common.events import CloudEvent

log = structlog.stdlib.get_logger(__name__)

REASONS = {
    "registration": "welcome to the SWE platform.",
    "email_change": "this address was just made the e-mail address of your account.",
    "resend": "you asked for a new verification link.",
}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class MailDelivery:
    def __init__(self, settings: Settings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender
        self.console = settings.console_base_url.rstrip("/")

    def link(self, path: str) -> str:
        return f"{self.console}{path}"

    async def deliver(
        self,
        session: AsyncSession,
        event: CloudEvent,
        kind: str,
        to: str,
        user_id: uuid.UUID | None,
        values: dict[str, str],
    ) -> None:
        if await session.get(SentMail, event.id) is not None:
            MAILS.labels(kind, "duplicate").inc()
            return
        rendered = render(kind, values, self.console)
        try:
            await self.sender.send(Mail(to=to, kind=kind, rendered=rendered, event_id=event.id))
        except Exception:
            MAILS.labels(kind, "failed").inc()
            raise
        # Its own transaction, committed now: if the handler's is lost, the retry finds it.
        async with AsyncSession(session.bind) as record, record.begin():
            record.add(SentMail(event_id=event.id, kind=kind, user_id=user_id, sent_at=utcnow()))
        MAILS.labels(kind, "sent").inc()

    # --- account mails (always sent: they answer the user's own request) ---------------------

    async def password_reset(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        user = await _user(session, data.get("user_id"))
        minutes = _minutes_left(data.get("expires_at"), event.time)
        values = {
            "name": _name(user),
            "minutes": str(minutes),
            "link": self.link(f"/reset-password?token={data['reset_token']}"),
        }
        await self.deliver(session, event, "password_reset", data["email"], _id(user), values)

    async def email_verification(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        user = await _user(session, data.get("user_id"))
        values = {
            "name": _name(user),
            "reason_text": REASONS.get(str(data.get("reason")), ""),
            "hours": str(max(1, _minutes_left(data.get("expires_at"), event.time) // 60)),
            "link": self.link(f"/verify-email?token={data['verification_token']}"),
        }
        await self.deliver(session, event, "email_verification", data["email"], _id(user), values)

    async def registration_attempted(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        user = await _user(session, data.get("user_id"))
        values = {
            "name": _name(user),
            "sign_in_link": self.link("/sign-in"),
            "reset_link": self.link("/reset-password"),
        }
        kind = "registration_attempted"
        await self.deliver(session, event, kind, data["email"], _id(user), values)

    # --- opt-in notices: to a verified address of a user who turned the notice on -------------

    async def _recipient(self, session: AsyncSession, user_id: Any, notice: str) -> User | None:
        user = await _user(session, user_id)
        if user is None or not user.is_active or user.email_verified_at is None:
            return None
        return user if await notices.wants(session, user.id, notice) else None

    async def issue_assigned(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        if not data.get("assigned_agent_id"):
            return
        user = await self._recipient(session, data.get("created_by"), "issue_assigned")
        if user is None:
            return
        project = await _project(session, data.get("project_id"))
        values = {
            "name": _name(user),
            "title": str(data.get("title", "")),
            "project": project.name if project is not None else "your project",
            "link": self.link(f"/projects/{data['project_id']}/issues/{data['id']}"),
            "settings_link": self.link("/account/notifications"),
        }
        await self.deliver(session, event, "issue_assigned", user.email, user.id, values)

    async def _project_owner(
        self, session: AsyncSession, project_id: Any, notice: str
    ) -> tuple[User, str] | None:
        project = await _project(session, project_id)
        if project is None:
            log.info("notice_without_project", project_id=str(project_id), notice=notice)
            return None
        user = await self._recipient(session, project.owner_id, notice)
        return (user, project.name) if user is not None else None

    async def review_finished(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        found = await self._project_owner(session, data.get("project_id"), "review_finished")
        if found is None:
            return
        user, project = found
        approval = data.get("approval") or "no verdict"
        comments = int(data.get("comment_count") or 0)
        values = {
            "name": _name(user),
            "project": project,
            "verdict": f"{approval}, {comments} comment{'s' if comments != 1 else ''}",
            "link": self.link(f"/projects/{data['project_id']}/pulls/{data['pull_request_id']}"),
            "settings_link": self.link("/account/notifications"),
        }
        await self.deliver(session, event, "review_finished", user.email, user.id, values)

    async def run_failed(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        found = await self._project_owner(session, data.get("project_id"), "run_failed")
        if found is None:
            return
        user, project = found
        values = {
            "name": _name(user),
            "project": project,
            "agent_type": str(data.get("agent_type") or "agent"),
            "reason": str(data.get("exit_reason") or "failed"),
            "link": self.link(f"/runs/{data['run_id']}"),
            "settings_link": self.link("/account/notifications"),
        }
        await self.deliver(session, event, "run_failed", user.email, user.id, values)


# --- the project-owner read model ------------------------------------------------------------


async def project_snapshot(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    project_id, owner_id = _uuid(data.get("id")), _uuid(data.get("owner_id"))
    if project_id is None or owner_id is None:
        return
    stamp = data.get("updated_at")
    at = datetime.fromisoformat(str(stamp)) if stamp else event.time
    await notices.save_project(session, project_id, owner_id, str(data.get("name", "")), at)


async def project_deleted(session: AsyncSession, event: CloudEvent) -> None:
    project_id = _uuid(event.data.get("id"))
    if project_id is not None:
        await notices.forget_project(session, project_id)


# --- small helpers ---------------------------------------------------------------------------


async def _user(session: AsyncSession, user_id: Any) -> User | None:
    parsed = _uuid(user_id)
    return await accounts.get(session, parsed) if parsed is not None else None


async def _project(session: AsyncSession, project_id: Any) -> ProjectOwner | None:
    parsed = _uuid(project_id)
    return await notices.project(session, parsed) if parsed is not None else None


def _id(user: User | None) -> uuid.UUID | None:
    return user.id if user is not None else None


def _name(user: User | None) -> str:
    if user is None:
        return "there"
    return user.full_name or user.username


def _minutes_left(expires_at: Any, sent: datetime) -> int:
    try:
        expires = datetime.fromisoformat(str(expires_at))
    except ValueError:
        return 30
    return max(1, int((expires - sent).total_seconds() // 60))
