"""Manager digests: weekly numbers per quality principle, staff against service users.

What the Telegram layer calls:
- `/digest`: `digest_for(...)` (access-checked) gives a `RenderedDigest` with the
  messages, the chart PNG, the HTML report, and `weak_items` for the
  "Plan an action" buttons.
- the weekly job: `deliver_due(db, frameworks, send, now=...)`, every few minutes
  and once at start (that is also the catch-up); or `due_digests` + `deliver`.
- actions: `plan_action`, `list_actions`, `set_action_status`, `check_action`.
- service users: `what_we_changed(...)` lines under the translated `WHAT_WE_CHANGED`.
- access: `can_view(memberships, org_id, unit_id)`.
"""

from bot.services.digests.digest_access import AccessDenied, can_view, require_view, viewable_scopes
from bot.services.digests.digest_compute import DEFAULT_GAP, DigestError, compute_digest, item_score
from bot.services.digests.digest_delivery import (
    Delivery,
    DueDigest,
    deliver,
    deliver_due,
    digest_for,
    due_digests,
)
from bot.services.digests.digest_model import ActionLine, Comment, Digest, GroupScore, ItemScore
from bot.services.digests.digest_render import (
    RenderedDigest,
    digest_json,
    plain_text,
    render_all,
    report_html,
    telegram_messages,
    weak_spots,
)
from bot.services.digests.improvement_actions import (
    DUE_WEEKS,
    WHAT_WE_CHANGED,
    ActionCheck,
    ActionError,
    check_action,
    list_actions,
    plan_action,
    set_action_status,
    what_we_changed,
)

__all__ = [
    "DEFAULT_GAP",
    "DUE_WEEKS",
    "WHAT_WE_CHANGED",
    "AccessDenied",
    "ActionCheck",
    "ActionError",
    "ActionLine",
    "Comment",
    "Delivery",
    "Digest",
    "DigestError",
    "DueDigest",
    "GroupScore",
    "ItemScore",
    "RenderedDigest",
    "can_view",
    "check_action",
    "compute_digest",
    "deliver",
    "deliver_due",
    "digest_for",
    "digest_json",
    "due_digests",
    "item_score",
    "list_actions",
    "plain_text",
    "plan_action",
    "render_all",
    "report_html",
    "require_view",
    "set_action_status",
    "telegram_messages",
    "viewable_scopes",
    "weak_spots",
    "what_we_changed",
]
