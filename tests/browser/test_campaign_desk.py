"""Marketing staff at the campaign desk, in a real browser against the live product.

Each test logs in, works through the admin as a person would, and saves screenshots of the pages
it passes (test-artifacts/screenshots/, 1280x800) for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import PASSWORD, LiveProduct

DONE_SECONDS = 60


def log_in(page: Page, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def shot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=full_page)


def seed_campaign(live: LiveProduct, name: str, size: int, first_address: int) -> int:
    """A draft LeadConverter campaign to `size` recipients, made directly; returns its id."""
    return int(
        live.shell(
            f"""
from notifications.models import *
audience = Audience.objects.create(name={name!r} + " audience", size={size})
for i in range({size}):
    r = Recipient.objects.create(external_id=f"{name}-{{i}}", first_name=f"P{{i}}")
    Address.objects.create(recipient=r, channel="leadconverter", value=str({first_address} + i))
    AudienceMember.objects.create(audience=audience, recipient=r)
template = MessageTemplate.objects.create(
    name={name!r} + " text", body="Hello {{{{ first_name }}}}"
)
campaign = Campaign.objects.create(name={name!r}, channel="leadconverter", template=template)
campaign.audiences.add(audience)
print(campaign.pk)
"""
        ).splitlines()[-1]
    )


def confirm(page: Page, button: str) -> None:
    """Click a sending button on the campaign page, read the question, answer yes."""
    page.locator(".object-tools").get_by_role("link", name=re.compile(button)).click()
    expect(page.locator("#transition-question")).to_be_visible()
    page.locator(".submit-row input[type=submit]").click()


def test_import_write_preview_dispatch_and_read_the_funnel(
    page: Page, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    log_in(page, "boss")

    # Import a CSV: first the dry run, then the confirmation.
    rows = ["external_id,first_name,city,leadconverter"]
    rows += [f"spring-{i},Anna{i},{'Kazan' if i % 4 else ''},{700000 + i}" for i in range(40)]
    rows += ["spring-bad,Bad,Kazan,not-a-number"]
    csv_file = tmp_path / "spring.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page.goto("/admin/notifications/audience/")
    page.get_by_role("link", name="Import recipients from CSV").click()
    page.set_input_files("#id_file", str(csv_file))
    page.fill("#id_new_audience", "Spring buyers")
    page.get_by_role("button", name="Check file").click()
    expect(page.locator("#dry-run-title")).to_contain_text("nothing is imported yet")
    expect(page.locator("#import-report")).to_contain_text("To create")
    expect(page.locator("#import-rejections")).to_contain_text("spring-bad")
    shot(page, screenshots, "01-import-dry-run")
    page.get_by_role("button", name="Import 40 rows").click()
    expect(page.locator(".messagelist")).to_contain_text("Spring buyers: 40 created")

    # Write a template and preview it.
    page.goto("/admin/notifications/messagetemplate/add/")
    page.fill("#id_name", "Spring sale")
    page.fill("#id_body", "Hi {{ first_name }}! Spring sale in {{ city | default: 'your city' }}.")
    page.click("input[name=_continue]")
    page.get_by_role("link", name="Preview").click()
    page.fill("#recipient", "spring-1")
    page.click("#preview-form input[type=submit]")
    expect(page.locator(".preview").first).to_contain_text("Hi Anna1! Spring sale in Kazan.")
    shot(page, screenshots, "02-template-preview")

    # A campaign for the audience, on LeadConverter.
    page.goto("/admin/notifications/campaign/add/")
    page.fill("#id_name", "Spring sale")
    page.select_option("#id_channel", "leadconverter")
    page.click(".field-template .select2-selection")
    page.fill(".select2-search__field", "Spring")
    page.click(".select2-results__option:has-text('Spring sale')")
    page.dblclick("#id_audiences_from option:has-text('Spring buyers')")
    page.click("input[name=_continue]")

    # Before dispatch: the send plan, previews for real recipients, no problem found.
    expect(page.locator("#send-plan")).to_contain_text(
        "40 LeadConverter messages in 20 requests at 5/second under a minute"
    )
    expect(page.locator("#previews .preview-card").first).to_contain_text("Hi Anna0!")
    expect(page.locator("#checks")).to_contain_text("Ready to send")
    shot(page, screenshots, "03-campaign-plan", full_page=True)

    # Dispatch, confirming with the number of recipients.
    page.locator(".object-tools").get_by_role("link", name="Dispatch now").click()
    expect(page.locator("#transition-question")).to_contain_text(
        "Send 'Spring sale' to 40 recipients on LeadConverter?"
    )
    shot(page, screenshots, "04-dispatch-confirmation")
    page.get_by_role("button", name="Yes, dispatch").click()
    expect(page.locator(".messagelist")).to_contain_text("is being sent")

    # The progress bar fills by itself; the page turns to the funnel when the campaign is done.
    progress = page.locator("#campaign-progress")
    expect(progress).to_be_visible()
    shot(page, screenshots, "05-campaign-sending")
    expect(progress.locator("[data-live=headline]")).to_have_text(
        "Completed — 40 sent", timeout=DONE_SECONDS * 1000
    )
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=DONE_SECONDS * 1000)
    funnel = page.locator("#funnel")
    expect(funnel.locator("[data-live-count=sent]")).to_have_text("40")
    expect(funnel.locator("[data-live-count=failed]")).to_have_text("0")
    expect(page.locator("#timeline svg.timeline")).to_be_visible()
    shot(page, screenshots, "06-campaign-funnel", full_page=True)

    # Every number leads to the deliveries behind it.
    funnel.locator("[data-live-count=sent]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(40)

    page.goto("/admin/notifications/campaign/")
    row = page.locator("#result_list tr", has_text="Spring sale")
    expect(row.locator(".badge")).to_have_text("Completed")
    expect(row).to_contain_text("40 sent")
    shot(page, screenshots, "07-campaign-list")

    page.get_by_role("link", name="Providers").click()
    expect(page.locator("#provider-leadconverter")).to_contain_text("Configured")
    shot(page, screenshots, "08-providers")


def test_pause_and_resume_a_campaign_while_it_sends(
    page: Page, live: LiveProduct, screenshots: Path
):
    campaign_id = seed_campaign(live, "Autumn", 100, first_address=500_000)
    log_in(page, "boss")
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    confirm(page, "Dispatch now")
    expect(page.locator("#campaign-progress .badge")).to_have_text("Running")

    confirm(page, "^Pause$")
    progress = page.locator("#campaign-progress")
    expect(progress.locator(".badge")).to_have_text("Paused")
    expect(progress.locator("#live-state")).to_contain_text("Paused by boss.")
    percent = int(progress.locator("[data-live-bar]").get_attribute("aria-valuenow"))
    assert percent < 100
    shot(page, screenshots, "09-campaign-paused")
    # Paused means paused: nothing moves while it is.
    page.wait_for_timeout(1500)
    page.reload()
    assert int(progress.locator("[data-live-bar]").get_attribute("aria-valuenow")) <= percent + 5

    confirm(page, "^Resume$")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=DONE_SECONDS * 1000)
    expect(page.locator("#funnel [data-live-count=sent]")).to_have_text("100")
    expect(page.locator("#funnel [data-live-count=unknown]")).to_have_text("0")


def test_view_only_staff_see_everything_and_no_button(
    page: Page, live: LiveProduct, screenshots: Path
):
    campaign_id = seed_campaign(live, "Winter", 3, first_address=600_000)
    for username in ("viewer", "editor"):
        page.context.clear_cookies()
        log_in(page, username)
        page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
        expect(page.locator("#send-plan")).to_contain_text("3 LeadConverter messages")
        expect(page.locator("#previews .preview-card")).to_have_count(3)
        # Nothing that sends; an editor may copy (a new draft is theirs to make).
        sending = ".object-tools a[class^=transition-]:not(.transition-copy)"
        expect(page.locator(sending)).to_have_count(0)
        if username == "viewer":
            expect(page.locator("input[name=_save]")).to_have_count(0)
            shot(page, screenshots, "10-viewer-campaign", full_page=True)
        page.goto("/admin/notifications/campaign/")
        expect(page.locator("#result_list")).to_contain_text("Winter")
        expect(page.locator("select[name=action] option[value=pause_selected]")).to_have_count(0)
        page.goto("/admin/notifications/campaign/providers/")
        expect(page.locator("#providers")).to_contain_text("LeadConverter")
