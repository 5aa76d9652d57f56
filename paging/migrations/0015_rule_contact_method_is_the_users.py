import django.db.models
from django.db import migrations

import oncall.constraints


class Migration(migrations.Migration):
    dependencies = [
        ("paging", "0014_remove_rules_on_another_persons_contact_method"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="contactmethod",
            constraint=django.db.models.UniqueConstraint(
                fields=("user", "id"), name="contact_method_of_user"
            ),
        ),
        migrations.AddConstraint(
            model_name="notificationrule",
            constraint=oncall.constraints.CompositeForeignKey(
                fields=("user", "contact_method"),
                to_fields=("user", "id"),
                name="rule_contact_method_is_the_users",
            ),
        ),
    ]
