"""System checks for the accounts app: catch half-configured single sign-on at start-up."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def sso_settings(app_configs, **kwargs) -> list:
    """OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (the secret's value never shown)."""
    if not settings.OIDC_ISSUER:
        return []
    missing = [
        name for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET") if not getattr(settings, name)
    ]
    if not missing:
        return []
    return [
        Error(
            f"single sign-on is half configured: OIDC_ISSUER is set but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not",
            hint="Set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_FILE), or unset "
            "OIDC_ISSUER to sign in with passwords only.",
            id="accounts.E001",
        )
    ]
