"""gunicorn as production runs it: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Command-line options (or GUNICORN_CMD_ARGS) such as `--bind` and `--workers` add to these.
This file settles the logs: an access line per request on stdout, errors on stderr, and
neither carries a webhook secret sent in a URL (`?token=`): webhooks.redaction rewrites it.
It finds the secret in URLs (after "?"), as gunicorn's default access format writes them
(`%(r)s`); a custom format must not log the bare query string (`%(q)s`).
"""

import logging

from gunicorn.arbiter import Arbiter

from webhooks.redaction import UrlSecretFilter

accesslog = "-"
# A sync worker busy with one request past `timeout` is killed. Exports stream up to a million
# rows, which takes minutes (README, Performance: about 35 s as CSV, over 3 min as Excel), so
# the default 30 s would cut them off; a stuck worker is still replaced, just later.
timeout = 600


def on_starting(server: Arbiter) -> None:
    """Redact webhook secrets in gunicorn's own loggers, which Django's LOGGING does not reach.

    Filters on the loggers themselves, so every handler gunicorn (re)attaches is covered; the
    workers inherit them when they fork.
    """
    for name in ("gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).addFilter(UrlSecretFilter())
