"""`{% sso_enabled %}`: whether pages offer single sign-on."""

from django import template

from accounts.sso import sso_configured

register = template.Library()


@register.simple_tag
def sso_enabled() -> bool:
    """Return whether single sign-on is configured."""
    return sso_configured()
