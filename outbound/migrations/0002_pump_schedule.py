"""The outbound pump, as a django-q2 schedule every minute: retries fall due while no campaign
moves, and a pump that died is replaced."""

from django.db import migrations

PUMP = "outbound.tasks.pump"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="vestnik-outbound",
        defaults={"func": PUMP, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="vestnik-outbound").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outbound", "0001_endpoints_and_messages"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
