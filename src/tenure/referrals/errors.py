"""Referral and group-buy errors: each a stable code with the data behind it."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class ReferralConfigInvalid(BadRequest):
    """The program document does not validate."""

    code = "referral_config_invalid"


class ReferralConfigVersionConflict(Conflict):
    """Someone saved the program since the caller read it."""

    code = "referral_config_version_conflict"


class ReferralCodeNotFound(NotFound):
    """No invite code with that text."""

    code = "referral_code_not_found"


class ReferralCodeDisabled(Conflict):
    """The invite code was disabled by an operator."""

    code = "referral_code_disabled"


class SelfReferral(Conflict):
    """A customer used their own invite code."""

    code = "referral_self_referral"


class InviteeAlreadyAttributed(Conflict):
    """The invitee is attributed to a referrer already (attribution happens once)."""

    code = "referral_invitee_already_attributed"


class VelocityExceeded(Conflict):
    """The referrer brought in too many sign-ups too quickly."""

    code = "referral_velocity_exceeded"


class FingerprintMatch(Conflict):
    """The invitee shares a device, IP or payment fingerprint with the referrer's circle."""

    code = "referral_fingerprint_match"


class ReferralNotFound(NotFound):
    """No referral with that id."""

    code = "referral_not_found"


class ReferralNotHeld(Conflict):
    """Only a held referral can be approved or rejected."""

    code = "referral_not_held"


class ReferralOrderNotFound(NotFound):
    """No referral qualifies through that order."""

    code = "referral_order_not_found"


class ReferralCurrencyMismatch(Conflict):
    """The order is in another currency than the shop's."""

    code = "referral_currency_mismatch"


class GroupNotFound(NotFound):
    """No group buy with that id."""

    code = "group_not_found"


class GroupFull(Conflict):
    """The group has all its members already."""

    code = "group_full"


class GroupClosed(Conflict):
    """The group completed or failed; nobody can join it now."""

    code = "group_closed"


class GroupExpired(Conflict):
    """The group's deadline has passed."""

    code = "group_expired"


class GroupMemberNotFound(NotFound):
    """The user is not a member of that group."""

    code = "group_member_not_found"
