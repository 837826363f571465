"""Campaign errors: each a stable code with the data behind it."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class CampaignInvalid(BadRequest):
    """The campaign document does not validate; `path` names the place, `reason` the rule."""

    code = "campaign_invalid"


class TemplateInvalid(BadRequest):
    """A message template does not compile or uses a name it may not; `line` is 1-based."""

    code = "campaign_template_invalid"


class CampaignNotFound(NotFound):
    """No campaign with that key."""

    code = "campaign_not_found"


class CampaignExists(Conflict):
    """A campaign with that key exists already."""

    code = "campaign_exists"


class CampaignVersionConflict(Conflict):
    """Someone saved the campaign since the caller read it."""

    code = "campaign_version_conflict"


class CampaignStateConflict(Conflict):
    """The action does not apply in the campaign's current state (e.g. resume a draft)."""

    code = "campaign_state_conflict"


class ChannelUnconfigured(Conflict):
    """The campaign sends on a channel this installation has no provider for."""

    code = "campaign_channel_unconfigured"


class TokenInvalid(BadRequest):
    """A tracking or unsubscribe link whose signature does not check out."""

    code = "campaign_token_invalid"


class UserUnknown(NotFound):
    """No such user for a preview."""

    code = "campaign_user_unknown"


class InboxMessageNotFound(NotFound):
    """No in-app message with that id for that user."""

    code = "inbox_message_not_found"
