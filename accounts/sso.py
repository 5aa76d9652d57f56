"""OpenID Connect single sign-on: the provider's endpoints, who a signed-in person is, their teams.

mozilla-django-oidc runs the protocol (state, nonce, PKCE, code exchange, JWKS). What it leaves
to us: the endpoints come from the issuer's discovery document, read on first use and kept; the
id_token's audience and issuer are checked; a returning person is found by the provider's
subject, a new one matched to an existing account only by a *verified* e-mail address; and their
memberships in the teams named by OIDC_TEAM_MAP follow the groups claim on every sign-in.
"""

import logging
import re

import jwt
import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.access import forget_roles
from accounts.models import AT_LEAST, Membership, SignInIdentity, Team, User

logger = logging.getLogger(__name__)

_REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
_discovered: dict[str, dict] = {}


class SSOError(Exception):
    """A single sign-on that did not succeed; `public` is what the person is told."""

    public = "The single sign-on provider's answer could not be used."


class ProviderError(SSOError):
    """The provider could not be reached, or answered something we refuse."""


class SignInRefused(SSOError):
    """The provider vouched for the person, but we do not let them in."""

    def __init__(self, reason: str, public: str) -> None:
        super().__init__(reason)
        self.public = public


def sso_configured() -> bool:
    """Say whether single sign-on is on: an issuer, a client id and a client secret."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)


def discovery() -> dict:
    """Return the issuer's discovery document, fetched on first use and then kept."""
    issuer = settings.OIDC_ISSUER
    if issuer not in _discovered:
        _discovered[issuer] = _discover(issuer)
    return _discovered[issuer]


def forget_discovery() -> None:
    """Drop the kept discovery documents (the provider moved its endpoints)."""
    _discovered.clear()


def _discover(issuer: str) -> dict:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"cannot read the discovery document {url}: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        said = document.get("issuer") if isinstance(document, dict) else None
        raise ProviderError(f"{url} names issuer {said!r}, not OIDC_ISSUER {issuer!r}")
    missing = [key for key in _REQUIRED_ENDPOINTS if not isinstance(document.get(key), str)]
    if missing:
        raise ProviderError(f"{url} names no {', '.join(missing)}")
    return document


class SSOBackend(OIDCAuthenticationBackend):
    """Sign in through the OpenID Connect provider; grants no permissions of its own."""

    def __init__(self, *args, **kwargs) -> None:
        # mozilla's __init__ reads every endpoint from settings at once; ours come from
        # discovery, on first use (backends are built for every request that reads a session).
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = User

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: discovery()["token_endpoint"])
    OIDC_OP_USER_ENDPOINT = property(lambda self: discovery()["userinfo_endpoint"])
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: discovery()["jwks_uri"])

    def authenticate(self, request, **kwargs):
        """Finish a sign-in the callback started (it alone passes a nonce); else step aside."""
        if request is None or "nonce" not in kwargs or not sso_configured():
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        """Return the signed-in person, or None once they are deactivated."""
        return ModelBackend.get_user(self, user_id)

    def _verify_jws(self, payload, key) -> dict:
        """Check the id_token's signature, audience, issuer and expiry."""
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=["RS256"],
                audience=settings.OIDC_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise ProviderError(f"id_token refused: {exc}") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        """Return the person the provider vouched for, their teams brought up to date."""
        info = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise ProviderError("userinfo speaks of another subject than the id_token")
        claims = {**payload, **info}
        with transaction.atomic():
            user = person_for(claims)
            set_memberships(user, claims.get(settings.OIDC_GROUPS_CLAIM))
        forget_roles(user)
        logger.info("single sign-on: %s signed in (subject %s)", user.username, claims["sub"])
        return user

    # Permissions come from ModelBackend, listed before us; asking twice would only repeat it.
    def get_user_permissions(self, user_obj, obj=None) -> set:
        return set()

    def get_group_permissions(self, user_obj, obj=None) -> set:
        return set()

    def get_all_permissions(self, user_obj, obj=None) -> set:
        return set()

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return False

    def has_module_perms(self, user_obj, app_label) -> bool:
        return False


def _verified(claims: dict) -> bool:
    return claims.get("email_verified") in (True, "true")


def person_for(claims: dict) -> User:
    """Return the person `claims` describe: known by subject, matched by verified e-mail, or new."""
    issuer, subject = settings.OIDC_ISSUER, str(claims["sub"])
    known = SignInIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject)
    user = known[0].user if known else _matched(claims)
    if user is not None and not user.is_active:
        raise SignInRefused(f"{user.username} is deactivated", "Your account here is deactivated.")
    if user is None:
        user = _created(claims)
    if not known:
        SignInIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    return user


def _matched(claims: dict) -> User | None:
    """Return the one existing person with the claims' e-mail, when the provider verified it."""
    email = claims.get("email") or ""
    if not email or not _verified(claims):
        return None
    found = list(User.objects.filter(email__iexact=email)[:2])
    if len(found) > 1:
        raise SignInRefused(
            f"several people have the e-mail address {email}",
            "Several accounts here have your e-mail address; an administrator must merge them.",
        )
    return found[0] if found else None


def _created(claims: dict) -> User:
    """Create a person from the claims; an unverified e-mail address is not kept."""
    email = (claims.get("email") or "") if _verified(claims) else ""
    user = User.objects.create_user(
        unique_username(claims),
        email=email,
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )
    logger.info("single sign-on: created %s", user.username)
    return user


def unique_username(claims: dict) -> str:
    """Return a free username from `preferred_username` or the e-mail's local part."""
    wanted = str(claims.get("preferred_username") or "").strip()
    if not wanted:
        wanted = str(claims.get("email") or "").partition("@")[0]
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "person"
    name, number = base, 1
    while User.objects.filter(username__iexact=name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


def _groups(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def wanted_roles(groups) -> dict[str, str]:
    """Return team slug → role for the mapped teams `groups` put a person in (highest wins)."""
    present, wanted = _groups(groups), {}
    for group, slug, role in settings.OIDC_TEAM_MAP:
        held = wanted.get(slug)
        if group in present and (held is None or role in AT_LEAST[held]):
            wanted[slug] = role
    return wanted


def set_memberships(user: User, groups) -> None:
    """Make `user`'s memberships in the mapped teams what `groups` say; leave other teams alone."""
    wanted = wanted_roles(groups)
    for slug in sorted({slug for _, slug, _ in settings.OIDC_TEAM_MAP}):
        if slug not in wanted:
            Membership.objects.filter(user=user, team__slug=slug).delete()
            continue
        team = mapped_team(slug)
        membership = Membership.objects.filter(user=user, team=team).first()
        if membership is None:
            Membership.objects.create(user=user, team=team, role=wanted[slug])
        elif membership.role != wanted[slug]:
            membership.role = wanted[slug]
            membership.save(update_fields=["role"])


def mapped_team(slug: str) -> Team:
    """Return the team OIDC_TEAM_MAP names, creating it (name: the slug in title case) if new."""
    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        return team
    name = slug.replace("-", " ").replace("_", " ").title()
    if Team.objects.filter(name=name).exists():
        name = f"{name} ({slug})"
    logger.info("single sign-on: created team %s for OIDC_TEAM_MAP", slug)
    return Team.objects.create(slug=slug, name=name)
