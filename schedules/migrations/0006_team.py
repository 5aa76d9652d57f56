"""Every schedule belongs to a team: the existing ones join the Default team.

Added nullable, filled, then made required: the field's default (`default_team_id`) is code of
today, which a migration must not run; it only says where objects made without a team go.
"""

import django.db.models.deletion
from django.db import migrations, models

import accounts.models


def join_default_team(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    model = apps.get_model("schedules", "schedule")
    team, _ = Team.objects.get_or_create(slug="default", defaults={"name": "Default"})
    model.objects.filter(team__isnull=True).update(team=team)


HELP = "The team that owns it: its managers change it."


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_default_team"),
        ("schedules", "0005_calendarfeed_created_by_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="schedule",
            name="team",
            field=models.ForeignKey(
                null=True,
                help_text=HELP,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="schedules",
                to="accounts.team",
            ),
        ),
        migrations.RunPython(join_default_team, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="schedule",
            name="team",
            field=models.ForeignKey(
                help_text=HELP,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="schedules",
                to="accounts.team",
            ),
        ),
        migrations.AlterField(
            model_name="schedule",
            name="team",
            field=models.ForeignKey(
                default=accounts.models.default_team_id,
                help_text=HELP,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="schedules",
                to="accounts.team",
            ),
        ),
    ]
