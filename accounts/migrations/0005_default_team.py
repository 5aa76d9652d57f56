"""Put every existing person in a Default team, so that nothing changes until teams are edited.

Staff become its managers (they changed configuration before), everyone else its responders.
The services, schedules and policies that exist join it in their own apps' migrations.
"""

from django.db import migrations


def default_team(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    Membership = apps.get_model("accounts", "Membership")
    User = apps.get_model("accounts", "User")
    team, _ = Team.objects.get_or_create(slug="default", defaults={"name": "Default"})
    Membership.objects.bulk_create(
        [
            Membership(team=team, user=user, role="manager" if user.is_staff else "responder")
            for user in User.objects.exclude(memberships__team=team)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_teams")]

    operations = [migrations.RunPython(default_team, migrations.RunPython.noop)]
