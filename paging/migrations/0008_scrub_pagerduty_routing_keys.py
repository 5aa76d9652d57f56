"""Drop the routing key (an integration's secret) from stored PagerDuty Events v2 alerts."""

from django.db import migrations


def scrub(apps, schema_editor) -> None:
    Alert = apps.get_model("paging", "Alert")
    found = Alert.objects.filter(integration__kind="pagerduty_v2", payload__has_key="routing_key")
    for alert in found.only("pk", "payload").iterator(chunk_size=1000):
        alert.payload.pop("routing_key", None)
        alert.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("paging", "0007_notification_held_until")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
