"""Live progress in words (`notifications.admin.live`): what Russian readers see, in the right
plural forms and with numbers grouped their way, while English stays as it was."""

from __future__ import annotations

import pytest
from django.utils import translation

from notifications.admin.live import duration_text, progress_summary


@pytest.mark.parametrize(
    ("days", "russian"),
    [(1, "≈ 1 день"), (2, "≈ 2 дня"), (5, "≈ 5 дней"), (21, "≈ 21 день"), (1.5, "≈ 1,5 дня")],
)
def test_a_duration_in_days_takes_the_russian_plural_form_of_its_number(days, russian):
    with translation.override("ru"):
        assert duration_text(days * 86400) == russian


def test_a_duration_in_days_reads_as_before_in_english():
    with translation.override("en"):
        assert [duration_text(d * 86400) for d in (1, 2, 1.5)] == [
            "≈ 1 day",
            "≈ 2 days",
            "≈ 1.5 days",
        ]


def test_the_progress_headline_groups_numbers_and_declines_deliveries_in_russian():
    progress = {"total": 2001, "done": 1000, "sent": 990}
    progress.update(failed=10, unknown=0, skipped=0, cancelled=0)
    with translation.override("ru"):
        headline = progress_summary("running", progress).headline
    # 2 001 ends in 1: "из 2 001 доставки", the genitive singular.
    assert headline == "49 % — готово 1\xa0000 из 2\xa0001 доставки"
    with translation.override("en"):
        assert progress_summary("running", progress).headline == (
            "49 % — 1,000 of 2,001 deliveries done"
        )


def test_the_progress_headline_of_one_delivery_says_delivery():
    progress = {"total": 1, "done": 0, "sent": 0}
    progress.update(failed=0, unknown=0, skipped=0, cancelled=0)
    with translation.override("en"):
        assert progress_summary("running", progress).headline == "0 % — 0 of 1 delivery done"
