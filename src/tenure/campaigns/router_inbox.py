"""Contacts, consent and the in-app inbox over HTTP (`server` scope: the shop's backend)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from tenure.apikeys.auth import require
from tenure.campaigns.schemas import ContactIn, ContactOut, InboxItemOut, MessageId
from tenure.campaigns.service import contacts
from tenure.errors import NotFound
from tenure.kit.bounds import UserId
from tenure.kit.time import utc_now
from tenure.storage.database import Database

router = APIRouter(tags=["campaign contacts"])
SERVER = [Depends(require("server"))]


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _contact(session: Session, user_id: str) -> ContactOut:
    """The user's contact and consents, or 404 `contact_not_found`."""
    row, consents = contacts.contact_of(session, user_id)
    if row is None:
        raise NotFound(code="contact_not_found", user_id=user_id)
    return ContactOut.of(row, consents)


@router.put("/v1/contacts/{user_id}", dependencies=SERVER, summary="Set a user's contact")
def contact_save(request: Request, user_id: UserId, body: ContactIn) -> ContactOut:
    """Create or change how to reach the user (only the fields sent change; `null` clears one)
    and record consent per channel with its `source`."""
    now = utc_now()

    def work(session: Session) -> ContactOut:
        contacts.upsert_contact(session, user_id, body.values(), now)
        if body.consent and body.source:  # ContactIn demands a source with consent
            for channel, status in body.consent.items():
                contacts.set_consent(session, user_id, channel, status, body.source, now)
        return _contact(session, user_id)

    return _database(request).write(work)


@router.get("/v1/contacts/{user_id}", dependencies=SERVER, summary="A user's contact")
def contact_show(request: Request, user_id: UserId) -> ContactOut:
    """How to reach the user and their consent per channel (404 when none is stored)."""
    return _database(request).read(lambda s: _contact(s, user_id))


@router.get("/v1/inbox/{user_id}", dependencies=SERVER, summary="A user's in-app messages")
def inbox(
    request: Request, user_id: UserId, limit: int = Query(50, ge=1, le=200)
) -> list[InboxItemOut]:
    """Unexpired in-app messages, newest first."""
    now = utc_now()
    rows = _database(request).read(lambda s: contacts.inbox(s, user_id, now, limit))
    return [InboxItemOut.of(r) for r in rows]


@router.post(
    "/v1/inbox/{user_id}/{message_id}/read", dependencies=SERVER, summary="Mark a message read"
)
def inbox_read(request: Request, user_id: UserId, message_id: MessageId) -> InboxItemOut:
    """Mark an in-app message read; the first read counts as the message's open (404
    `inbox_message_not_found` for another user's or an unknown message)."""
    now = utc_now()
    return InboxItemOut.of(
        _database(request).write(lambda s: contacts.mark_read(s, user_id, message_id, now))
    )
