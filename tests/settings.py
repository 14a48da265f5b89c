"""Settings for the test suite: the real settings module with test-only values filled in.

Only what a test run cannot take from the environment is set here; DATABASE_URL and REDIS_URL
still come from the environment so the same suite runs on SQLite and on PostgreSQL.
"""

import os

# Never a developer's .env: the suite must test the same settings in every checkout. Processes
# the tests start inherit this, so they don't read it either.
os.environ["VESTNIK_ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else")
# A test that sends must not wait for the morning because the suite runs at night: the site's
# window starts off here (and in the processes tests start); quiet hours' tests set their own.
os.environ["SEND_WINDOW_DEFAULT"] = "off"

from config.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Fast hashing: the suite creates many users and never needs real password strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMS_WEBHOOK_SECRETS = ["test-webhook-secret"]
