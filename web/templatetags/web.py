"""Small template helpers for the responder app's pages."""

from django import template

from accounts import access

register = template.Library()


@register.simple_tag
def may_use_admin(user) -> bool:
    """Return whether the navigation links to admin: staff and team managers."""
    return bool(user.is_authenticated and (user.is_staff or access.manages_any(user)))
