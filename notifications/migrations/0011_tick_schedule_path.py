"""The tick moved to `notifications.sending.tasks`: point the django-q2 schedule at it."""

from django.db import migrations

OLD_TICK = "notifications.tasks.tick"
NEW_TICK = "notifications.sending.tasks.tick"


def _repoint(apps, old: str, new: str) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name="vestnik-tick", func=old).update(func=new)


def forwards(apps, schema_editor):
    _repoint(apps, OLD_TICK, NEW_TICK)


def backwards(apps, schema_editor):
    _repoint(apps, NEW_TICK, OLD_TICK)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0010_campaign_last_failure")]

    operations = [migrations.RunPython(forwards, backwards)]
