"""Who may be paged and act on a page: people whose account is active.

The one answer every path asks: the escalation engine (who is paged), SMS replies, call keys
and e-mail links (who may acknowledge or resolve), and personal calendar feeds. A deactivated
person is never paged, and what they still hold (an old page's code, a call, a link, a feed
URL) acts on nothing.
"""

from django.db.models import Q

from accounts.models import User


def unpageable_reason(user: User) -> str | None:
    """Return why `user` must not be paged or act on a page, or None when they may."""
    return None if user.is_active else "is deactivated"


def may_act(path: str = "") -> Q:
    """Return the filter for people (or rows whose person is at `path`) who may be paged and act."""
    return Q(**{f"{path}__is_active" if path else "is_active": True})
