"""Loyalty errors: each a stable code with the data a caller needs to react."""

from __future__ import annotations

from tenure.errors import BadRequest, Conflict, NotFound


class PointsInsufficient(Conflict):
    """The balance does not cover the points asked for."""

    code = "points_insufficient"


class PointsInvalid(BadRequest):
    """A points amount that is zero or negative where a positive one is needed."""

    code = "points_invalid"


class PointsBalanceLimit(Conflict):
    """The posting would take a member's points past what one balance may hold."""

    code = "points_balance_limit"


class PointsBelowMinimum(Conflict):
    """Fewer points than the program lets a member redeem at once."""

    code = "points_below_minimum"


class PointsExceedOrderShare(Conflict):
    """More points than the maximum share of the order they may pay."""

    code = "points_exceed_order_share"


class CurrencyMismatch(Conflict):
    """An amount in a currency other than the program's."""

    code = "loyalty_currency_mismatch"


class IdempotencyKeyRequired(BadRequest):
    """A mutation sent without an idempotency key."""

    code = "idempotency_key_required"


class IdempotencyKeyReused(Conflict):
    """The key was used before for a different request."""

    code = "idempotency_key_reused"


class RedemptionNotFound(NotFound):
    """No redemption with that id."""

    code = "redemption_not_found"


class RedemptionSettled(Conflict):
    """The redemption was already confirmed or released the other way."""

    code = "redemption_settled"


class OrderNotFound(NotFound):
    """A refund for an order Tenure never saw paid."""

    code = "loyalty_order_not_found"


class RefundExceedsOrder(Conflict):
    """Refunds adding up to more than the order's amount."""

    code = "refund_exceeds_order"


class ActionUnknown(NotFound):
    """An earning action the program does not define."""

    code = "loyalty_action_unknown"


class EarnCapReached(Conflict):
    """A per-day or per-period cap stops this earn."""

    code = "earn_cap_reached"


class CheckinAlreadyDone(Conflict):
    """The member already checked in on this local day."""

    code = "checkin_already_done"


class TaskUnknown(NotFound):
    """A task the program does not define."""

    code = "task_unknown"


class TaskAlreadyCompleted(Conflict):
    """Tasks award points once."""

    code = "task_already_completed"


class PlanUnknown(NotFound):
    """A membership plan the program does not define."""

    code = "membership_plan_unknown"


class MembershipNotActive(Conflict):
    """Cancelling a membership that is not active."""

    code = "membership_not_active"


class RewardNotFound(NotFound):
    """No active reward with that code."""

    code = "reward_not_found"


class RewardOutOfStock(Conflict):
    """The reward has no stock left."""

    code = "reward_out_of_stock"


class ProgramInvalid(BadRequest):
    """A program configuration that does not validate."""

    code = "loyalty_program_invalid"


class ProgramVersionConflict(Conflict):
    """The program changed since the version the editor started from."""

    code = "loyalty_program_version_conflict"
