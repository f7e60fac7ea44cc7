"""The event vocabulary (README.md, "Events"), for completion and documentation."""

from __future__ import annotations

NOTIFICATION_TYPES = (
    "order",
    "payment",
    "orderConfirmation",
    "orderDeclined",
    "cancel",
    "refund",
    "fulfillment",
    "orderComplete",
    "processingError",
    "disputeOpen",
    "disputeUpdate",
    "disputeClose",
    "disputeAccepted",
    "vendorFinalizedPayment",
    "buyerDisputeTimeout",
    "buyerDisputeExpiry",
    "vendorDisputeTimeout",
    "moderatorDisputeExpiry",
    "follow",
    "unfollow",
    "moderatorAdd",
    "moderatorRemove",
)

EVENT_NAMES = (
    # paymium.public
    "trade",
    "ticker",
    "depth",
    "prices",
    "announcement",
    # paymium.user
    "balance",
    "order",
    "notice",
    "state",
    "payment",
    # node
    "wallet.balance",
    "wallet.tx",
    *(f"notification.{kind}" for kind in NOTIFICATION_TYPES),
    "profile",
    "profile.error",
    "rating",
    "rating.error",
    "chat.message",
    "chat.typing",
    "chat.read",
    "status",
    # any
    "unknown",
    "meta.connected",
    "meta.disconnected",
    "meta.reconnecting",
    "meta.bad_frame",
)


def complete_event(prefix: str) -> list[str]:
    """Event names (and `group.*` globs) starting with `prefix`."""
    globs = sorted({name.split(".")[0] + ".*" for name in EVENT_NAMES if "." in name})
    return [name for name in (*EVENT_NAMES, *globs) if name.startswith(prefix)]
