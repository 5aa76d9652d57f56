"""The VAPID public key that "Turn on push" subscribes with."""

from django import template

from paging.vapid import VapidError, public_key

register = template.Library()


@register.simple_tag
def vapid_public_key() -> str:
    """Return the server's VAPID public key (base64url), or "" when push is not set up."""
    try:
        return public_key()
    except VapidError:
        return ""
