"""`manage.py ensure_admin`: make sure someone can log in to the admin, and say how."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists and print how to log in. The password comes from "
        "ADMIN_PASSWORD if set, otherwise it is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="", help="Default: $ADMIN_PASSWORD or random.")

    def handle(self, *args, username: str, password: str, **options) -> None:
        user_model = get_user_model()
        existing = user_model.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(
                _(
                    "Log in as '%(username)s' with the password you set before "
                    "(forgot it? python manage.py changepassword %(username)s)."
                )
                % {"username": existing.get_username()}
            )
            return
        password = password or os.environ.get("ADMIN_PASSWORD", "") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                _("Created superuser '%(username)s' with password: %(password)s")
                % {"username": username, "password": password}
            )
        )
        self.stdout.write(_("This password is shown only now; change it in the admin."))
