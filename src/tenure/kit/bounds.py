"""What the operational database holds, as pydantic types for request fields and parameters.

PostgreSQL refuses a string longer than its `varchar(n)`, an integer beyond its column type and
a NUL byte in any text, even in a WHERE clause; SQLite stores or compares all three. Every request
field and path or query parameter that reaches a column is declared with one of these types, so
both engines answer the same 422 problem+json, naming the field, before any SQL runs. The lengths
are the columns' (`String(n)` in each domain's `models.py`); `tests/kit/test_bounds.py` checks
that they agree.

Integers: `Int32` is an `Integer` column (int4 on PostgreSQL). `Int64` is a `BigInteger` column,
held to ±(2^53 − 1): the largest integers that every JSON reader (IEEE doubles) and the OpenAPI
document (which writes bounds as floats) represent exactly. Money and points carry their own,
smaller bounds, chosen so that sums of them cannot leave int64 either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints
from pydantic_core import PydanticCustomError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
JSON_INT_MAX = 2**53 - 1

# One amount of money in minor units: 10^13 major units (ten trillion dollars) is beyond any
# order, and 9,000 such amounts still sum inside int64 (cart subtotals, refunds, budgets).
MONEY_MAX = 10**15
# Points moved by one operation (an adjustment, a spend, a redemption, a reward's price).
POINTS_MAX = 10**12
# Points one member may hold, every bucket together. The ledger refuses (409
# points_balance_limit) a posting that would pass it: 9,000 times below int64, so a balance plus
# any posting, and the SQL sums over a member's entries, stay exact on both engines.
BALANCE_MAX = 10**15

# Column lengths shared by every domain (String(n) in the models).
USER_ID_LENGTH = 200  # user ids: loyalty, promotions, referrals, segments, tags, lifecycle
EXTERNAL_ID_LENGTH = 200  # the shop's order, refund, payment and hold ids, SKUs, references
PUBLIC_ID_LENGTH = 40  # ids Tenure makes (ptx_…, off_…, grp_…, res_…) and referral codes
COUPON_CODE_LENGTH = 64  # promo_codes.code
SEGMENT_KEY_LENGTH = 100  # segments.key, tags.key
TIER_CODE_LENGTH = 40  # loyalty tier codes
PROGRAM_KEY_LENGTH = 60  # loyalty actions, tasks, plans and reward codes
NAME_LENGTH = 200  # display names
NOTE_LENGTH = 500  # notes

# No control characters (C0 and DEL) in a one-line value; text may also hold tabs and newlines.
# The patterns appear in the OpenAPI document, and only valid Unicode matches them (a lone
# surrogate, which neither engine can encode, is refused too).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Line = Annotated[str, StringConstraints(pattern=ONE_LINE)]
Text = Annotated[str, StringConstraints(pattern=MULTI_LINE)]

UserId = Annotated[Line, StringConstraints(min_length=1, max_length=USER_ID_LENGTH)]
ExternalId = Annotated[Line, StringConstraints(min_length=1, max_length=EXTERNAL_ID_LENGTH)]
PublicId = Annotated[Line, StringConstraints(min_length=1, max_length=PUBLIC_ID_LENGTH)]
IdempotencyKey = Annotated[Line, StringConstraints(min_length=1, max_length=200)]
CouponCode = Annotated[Line, StringConstraints(min_length=1, max_length=COUPON_CODE_LENGTH)]
SegmentKey = Annotated[Line, StringConstraints(min_length=1, max_length=SEGMENT_KEY_LENGTH)]
TierCode = Annotated[Line, StringConstraints(min_length=1, max_length=TIER_CODE_LENGTH)]
ProgramKey = Annotated[Line, StringConstraints(min_length=1, max_length=PROGRAM_KEY_LENGTH)]
Name = Annotated[Line, StringConstraints(min_length=1, max_length=NAME_LENGTH)]
Note = Annotated[Text, StringConstraints(max_length=NOTE_LENGTH)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]

Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=-JSON_INT_MAX, le=JSON_INT_MAX)]
Minor = Annotated[int, Field(ge=0, le=MONEY_MAX)]
Points = Annotated[int, Field(ge=1, le=POINTS_MAX)]
PointsDelta = Annotated[int, Field(ge=-POINTS_MAX, le=POINTS_MAX)]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX)]
RowId = Annotated[int, Field(ge=0, le=JSON_INT_MAX)]

# Datetimes a request may carry: shifting them to UTC, or by a return window or an expiry, must
# stay inside Python's years 1-9999 (else an OverflowError, a 500 on both engines).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= moment < LATEST
    except OverflowError:  # the comparison shifts by the offset, which can leave years 1-9999
        inside = False
    if not inside:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "Datetime should be from {earliest} up to {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
