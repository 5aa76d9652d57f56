"""What one person may do to another: only a superuser touches a superuser or hands out power.

Admin and the API both ask here, so neither lets staff who may change people deactivate a
superuser, make someone staff, or give themselves permissions.
"""

from accounts.models import User

# The fields that make an account more powerful; only a superuser changes them.
PRIVILEGES = ("is_superuser", "is_staff", "groups", "user_permissions")


def may_change_person(actor: User, person: User) -> bool:
    """Return whether `actor` may change or delete `person` (a superuser: only a superuser)."""
    return actor.is_superuser or not person.is_superuser


def may_grant_privileges(actor: User) -> bool:
    """Return whether `actor` may change the PRIVILEGES of anyone."""
    return actor.is_superuser
