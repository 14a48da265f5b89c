"""Marketing staff build a segment in a real browser against the live product: attributes from
a CSV import, a type set in the attribute registry, rules built with a group while the live
count follows, the segment's size on the audience list; then a static list made from the
recipient list, excluded from a campaign to the segment, which is dispatched and sent to
exactly the segment's people not on the list.

Screenshots go to test-artifacts/screenshots/ (1280x800) for people to look at.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import DONE_SECONDS, log_in, shot

# external_id, city, tier, age: four in Moscow; of them gold or older than 30: seg-1, seg-2, seg-5.
PEOPLE = [
    ("seg-1", "Moscow", "gold", "25"),
    ("seg-2", "Moscow", "silver", "35"),
    ("seg-3", "Moscow", "silver", "20"),
    ("seg-4", "Kazan", "gold", "40"),
    ("seg-5", "Moscow", "gold", "50"),
]


def import_people(page: Page, tmp_path: Path) -> None:
    """Import PEOPLE through the CSV import page, which registers city, tier and age."""
    rows = ["external_id,first_name,city,tier,age,leadconverter"]
    rows += [
        f"{eid},Person {eid[-1]},{city},{tier},{age},{910000 + int(eid[-1])}"
        for eid, city, tier, age in PEOPLE
    ]
    csv_file = tmp_path / "segment-people.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page.goto("/admin/notifications/audience/import/")
    page.set_input_files("#id_file", str(csv_file))
    page.fill("#id_new_audience", "Loyalty import")
    page.get_by_role("button", name="Check file").click()
    page.get_by_role("button", name="Import 5 rows").click()
    expect(page.locator(".messagelist")).to_contain_text("Loyalty import: 5 created")


def set_condition(row, field: str, op: str, value: str) -> None:
    row.locator(".segment-field").select_option(field)
    row.locator(".segment-op").select_option(op)
    row.locator(".segment-value input").fill(value)


def test_build_a_segment_exclude_a_list_and_send_to_who_is_left(
    page: Page, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    log_in(page, "boss")
    import_people(page, tmp_path)

    # Age came in as text from the CSV; the registry makes it a number.
    page.goto("/admin/notifications/recipientattribute/age/change/")
    page.fill("#id_label", "Age")
    page.select_option("#id_type", "number")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    shot(page, screenshots, "11-attribute-registry")

    page.goto("/admin/notifications/audience/add/")
    page.fill("#id_name", "Moscow loyal")
    builder = page.locator(".segment-builder")
    expect(builder).to_be_hidden()  # a static list, until Segment is chosen
    page.check("input[name=kind][value=segment]")
    expect(builder).to_be_visible()
    count = builder.locator("[data-segment-count]")
    problems = builder.locator(".segment-problems")
    expect(problems).to_contain_text("A segment needs at least one rule.")

    top = builder.locator(".segment-group:not(.nested)")
    top.locator(":scope > .segment-group-tools .segment-add-condition").click()
    set_condition(top.locator(".segment-condition").first, "attributes.city", "eq", "Moscow")
    expect(count).to_have_text("4 recipients")
    expect(problems).to_be_hidden()

    top.locator(":scope > .segment-group-tools .segment-add-group").click()
    group = builder.locator(".segment-group.nested")
    expect(group.locator(".segment-match")).to_have_value("any")
    set_condition(group.locator(".segment-condition").first, "attributes.tier", "eq", "gold")
    expect(count).to_have_text("2 recipients")

    group.locator(".segment-add-condition").click()
    set_condition(group.locator(".segment-condition").nth(1), "attributes.age", "gt", "30")
    expect(count).to_have_text("3 recipients")
    expect(builder.locator(".segment-sample tbody tr")).to_have_count(3)
    expect(builder.locator(".segment-sample")).to_contain_text("seg-2")
    shot(page, screenshots, "12-segment-builder", full_page=True)

    # A value that does not parse: the problem names its rule, and there is no count.
    group.locator(".segment-condition").nth(1).locator(".segment-op").select_option("between")
    expect(problems).to_contain_text("Rule 2.2: the value must be a number.")
    expect(count).to_have_text("—")
    values = group.locator(".segment-condition").nth(1).locator(".segment-value input")
    values.nth(0).fill("31")
    values.nth(1).fill("60")
    expect(count).to_have_text("3 recipients")

    # No one has been sent a campaign yet: a delivery condition selects nobody; removed, the
    # count is back.
    top.locator(":scope > .segment-group-tools .segment-add-condition").click()
    delivery = top.locator(":scope > .segment-items > .segment-condition").last
    delivery.locator(".segment-field").select_option("delivery")
    expect(delivery.locator("select[aria-label=campaign]")).to_have_value("")
    expect(delivery.locator("input[aria-label='within days']")).to_have_value("30")
    expect(count).to_have_text("0 recipients")
    shot(page, screenshots, "13-segment-delivery-condition", full_page=True)
    delivery.locator(".segment-remove").click()
    expect(count).to_have_text("3 recipients")

    page.click("input[name=_save]")
    row = page.locator("#result_list tr", has_text="Moscow loyal")
    expect(row.locator(".audience-size")).to_have_text("≈ 3")
    expect(row.locator(".counted")).to_have_text("counted just now")
    shot(page, screenshots, "14-audience-list")

    # The size leads to the members the rules select: the same three.
    row.locator(".audience-size").click()
    expect(page.locator("#members-total")).to_have_text("3 recipients.")
    expect(page.locator("#members-list tbody tr")).to_have_count(3)
    shot(page, screenshots, "15-segment-page", full_page=True)

    # A static list from the recipient list's action: seg-5 does not want to be disturbed.
    page.goto("/admin/notifications/recipient/?q=seg-5")
    page.locator("#result_list input.action-select").first.check()
    page.select_option("select[name=action]", "add_to_audience")
    page.locator("button[name=index]").click()
    expect(page.locator("#membership-concerned")).to_contain_text("1 recipient selected")
    page.fill("#id_new_audience", "Do not disturb")
    page.get_by_role("button", name="Yes, add them").click()
    expect(page.locator(".messagelist")).to_contain_text("Added 1 to 'Do not disturb'")

    page.goto("/admin/notifications/messagetemplate/add/")
    page.fill("#id_name", "Loyal hello")
    page.fill("#id_body", "Hi {{ first_name }}, thank you for staying with us.")
    page.click("input[name=_save]")

    # A campaign to the segment, excluding the list.
    page.goto("/admin/notifications/campaign/add/")
    page.fill("#id_name", "Loyalty thanks")
    page.select_option("#id_channel", "leadconverter")
    page.click(".field-template .select2-selection")
    page.fill(".select2-search__field", "Loyal")
    page.click(".select2-results__option:has-text('Loyal hello')")
    page.dblclick("#id_audiences_from option:has-text('Moscow loyal')")
    page.dblclick("#id_excluded_audiences_from option:has-text('Do not disturb')")
    page.click("input[name=_continue]")
    plan = page.locator("#send-plan")
    expect(plan.locator("[data-plan=excluded]")).to_have_text("1")
    shot(page, screenshots, "16-campaign-excluding-a-list", full_page=True)

    page.locator(".object-tools").get_by_role("link", name="Dispatch now").click()
    page.get_by_role("button", name="Yes, dispatch").click()
    progress = page.locator("#campaign-progress")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=DONE_SECONDS * 1000)
    funnel = page.locator("#funnel")
    expect(funnel.locator("[data-live-count=sent]")).to_have_text("2")
    shot(page, screenshots, "17-segment-campaign-sent", full_page=True)

    # Who got the message: the segment's people but the excluded one, who is skipped and why.
    funnel.locator("[data-live-count=sent]").click()
    sent = page.locator("#result_list tbody")
    expect(sent.locator("tr")).to_have_count(2)
    expect(sent).to_contain_text("seg-1")
    expect(sent).to_contain_text("seg-2")
    page.goto(page.url.replace("status__exact=sent", "status__exact=skipped"))
    skipped = page.locator("#result_list tbody")
    expect(skipped.locator("tr")).to_have_count(1)
    expect(skipped).to_contain_text("seg-5")
