"""The periodic tick of the dispatch engine, as a django-q2 schedule every minute."""

from django.db import migrations

TICK = "notifications.tasks.tick"


def create_tick(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="vestnik-tick",
        defaults={"func": TICK, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_tick(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="vestnik-tick").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_dispatch_engine"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_tick, remove_tick)]
