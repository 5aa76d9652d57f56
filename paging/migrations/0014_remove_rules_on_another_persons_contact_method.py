"""Remove the notification rules whose contact method is another person's, saying which.

Admin and `oncall apply` used to save them: the rule's person's pages went to someone else's
phone or mailbox. Such a rule cannot be mended (which of the person's methods was meant?), so it
is removed and named in the output, for someone to make again with the person's own method.
The next migration makes the database refuse them.
"""

import sys

from django.db import migrations
from django.db.models import F


def _line(rule) -> str:
    person, owner = rule.user.username, rule.contact_method.user.username
    method = f"{rule.contact_method.get_kind_display()} {rule.contact_method.name}"
    return (
        f"Removed notification rule {rule.pk} of {person} (after {rule.delay}): its contact "
        f"method ({method}) is {owner}'s, so {person}'s pages went to {owner}."
    )


def remove_misdirected_rules(apps, schema_editor) -> None:
    """Delete and report each rule whose contact method belongs to someone else."""
    rules = apps.get_model("paging", "NotificationRule").objects
    wrong = list(
        rules.exclude(contact_method__user=F("user"))
        .select_related("user", "contact_method__user")
        .order_by("pk")
    )
    if not wrong:
        return
    rules.filter(pk__in=[rule.pk for rule in wrong]).delete()
    count = "1 notification rule" if len(wrong) == 1 else f"{len(wrong)} notification rules"
    them = "it" if len(wrong) == 1 else "them"
    lines = [_line(rule) for rule in wrong] + [
        f"{count} removed: re-create {them} with one of its person's own contact methods."
    ]
    sys.stdout.write("".join(f"\n  {line}" for line in lines))


class Migration(migrations.Migration):
    dependencies = [
        ("paging", "0013_inbound_messages"),
    ]

    operations = [
        migrations.RunPython(remove_misdirected_rules, migrations.RunPython.noop, elidable=True),
    ]
