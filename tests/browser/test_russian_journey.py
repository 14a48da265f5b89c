"""The main journey in Russian, in a real browser: a member of staff who works in Russian imports
recipients, writes a template, previews it, plans a campaign, dispatches it, watches it finish
and reads its funnel, and no page they pass shows them English.

"English" is a word of Latin letters in what a person reads on a page: the visible text of its
content, the `title`, `placeholder` and `aria-label` attributes there, the options of its lists,
the values of its buttons, and the window's title. What legitimately stays in Latin letters is
taken out first (see `_NOT_WORDS`, `ALLOWED` and the data the test types); every other such word
fails the test, named with the page it was on.

Screenshots of each page, in Russian, go to test-artifacts/screenshots/ru-*.png (1280 px wide,
the desk also at 390 px), kept by CI. A page test: it runs on the SQLite pass only (see
`POSTGRES_JOURNEYS` in conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserType, Page, expect

from .conftest import USERS, VIEWPORT, LiveProduct
from .test_dashboard import PHONE, fresh_install, log_in

DONE_SECONDS = 60
STAFF = "marina"
# Not the site's zone (UTC): a time shown in the site's zone instead of hers is caught.
TIME_ZONE = "Asia/Yekaterinburg"
MINUTE = timedelta(minutes=1)
# Russian writes a date's month in the genitive.
MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]

# Words of Latin letters a Russian page rightly shows, lower-case, each with its reason.
ALLOWED = {
    # The product's name and the providers' (Sendios sends the SMS): written so in Russian too.
    "vestnik",
    "imshop",
    "leadconverter",
    "yandex",
    "market",
    "bitrix24",
    "sendios",
    # Formats, programs and technical names staff know by these names, untranslated in Russian.
    "csv",
    "utf",
    "excel",
    "api",
    "id",
    "uuid",
    "url",
    "https",
    "sms",
    "push",
    "liquid",
    # Django's own Russian: the admin is «Администрирование Django», and a list of many choices
    # says to hold down «Control» (or «Command» on a Mac), the keys' names as printed on them.
    "django",
    "control",
    "command",
    "mac",
}

# What is not a word of a sentence, whatever its letters: Liquid placeholders and tags staff type
# in templates, e-mail addresses, web addresses and time-zone names (Europe/Moscow, UTC). Codes
# shown in `code` (a CSV column's name, as staff type it) are not read at all.
_NOT_WORDS = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|https?://\S+"
    r"|\b[A-Z][A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?\b|\bUTC\b"
)
# A word of Latin letters: letters, digits and underscores after a first letter, so a field
# code such as first_name or a name such as Bitrix24 is one word.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_]*")

# What a person reads in the content of a page (Django's admin puts it in <main>), and the
# window's title: visible text outside code, scripts and form fields' typed values; the title,
# placeholder and aria-label attributes; every option of a list; the values of buttons.
_READ_PAGE = """() => {
  const root = document.querySelector("main") || document.body;
  // What a click on a summary shows (the desk's numbers, a form's folded sections) is read too.
  for (const details of root.querySelectorAll("details")) details.open = true;
  const seen = [document.title];
  const skip = "script, style, template, code, select, textarea, noscript";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || parent.closest(skip)) continue;
    if (!parent.checkVisibility({visibilityProperty: true})) continue;
    seen.push(node.textContent);
  }
  for (const el of root.querySelectorAll("[title], [placeholder], [aria-label]")) {
    for (const name of ["title", "placeholder", "aria-label"]) {
      if (el.hasAttribute(name)) seen.push(el.getAttribute(name));
    }
  }
  for (const option of root.querySelectorAll("option")) seen.push(option.textContent);
  for (const button of root.querySelectorAll(
    "input[type=submit], input[type=button], input[type=reset]"
  )) seen.push(button.value);
  return seen;
}"""


def english_words(texts: list[str], typed: set[str]) -> list[str]:
    """The words of Latin letters in `texts` that are neither allowed nor typed by the test."""
    found = []
    for text in texts:
        for word in _LATIN_WORD.findall(_NOT_WORDS.sub(" ", text)):
            if word.lower() not in ALLOWED and word.lower() not in typed and word not in found:
                found.append(word)
    return found


class RussianReader:
    """Reads each page the journey passes for English, and photographs it."""

    def __init__(self, page: Page, screenshots: Path, typed: str) -> None:
        self.page, self.screenshots = page, screenshots
        # The demo data the test types itself is the staff's own text, in whatever letters.
        self.typed = {word.lower() for word in _LATIN_WORD.findall(_NOT_WORDS.sub(" ", typed))}
        self.found: dict[str, list[str]] = {}

    def read(self, name: str, *, phone: bool = False) -> None:
        expect(self.page.locator("html")).to_have_attribute("lang", "ru")
        self.page.screenshot(path=self.screenshots / f"ru-{name}-1280.png", full_page=True)
        if phone:
            self.page.set_viewport_size(PHONE)
            self.page.screenshot(path=self.screenshots / f"ru-{name}-390.png", full_page=True)
            self.page.set_viewport_size(VIEWPORT)
        words = english_words(self.page.evaluate(_READ_PAGE), self.typed)
        if words:
            self.found[f"{name} ({self.page.url})"] = words

    def assert_no_english(self) -> None:
        report = "\n".join(f"{page}: {', '.join(words)}" for page, words in self.found.items())
        assert not self.found, f"English on the Russian pages:\n{report}"


STAFF_USER = f"""
from django.contrib.auth.models import User
from notifications.staff import staff_time_zone_set
user = User.objects.create_superuser({STAFF!r}, "marina@example.com", "browser-test-password")
staff_time_zone_set(user=user, time_zone={TIME_ZONE!r})
"""

# Forty buyers with Cyrillic names on LeadConverter, a quarter with no city; 1,200 more with no
# address there (so counts in the thousands show Russian grouping: «1 240»); a row whose address
# is not one.
CSV_ROWS = [
    "external_id,first_name,last_name,city,leadconverter",
    *(f"vesna-{i},Юлия{i},Иванова,{'Казань' if i % 4 else ''},{710000 + i}" for i in range(40)),
    *(f"vesna-{i},Юлия{i},Иванова,Казань," for i in range(40, 1240)),
    "vesna-9999,Борис,Петров,Казань,не-номер",
]
# A thousands separator in Russian: a (no-break) space.
GROUPED = r"1\s240"
AUDIENCE = "Весенние покупатели"
TEMPLATE = "Весенняя распродажа"
BODY = "Привет, {{ first_name }}! 🌷 Весенняя распродажа в городе {{ city | default: 'вашем' }}."
CAMPAIGN = "Весна в Казани"


@pytest.fixture
def russian_browser(browser_type: BrowserType, browser_type_launch_args: dict) -> Iterator[Browser]:
    """Chromium in Russian, as a Russian member of staff has it: its own controls (the date and
    time picker) read day, month, year. Debian's chromium-l10n holds its Russian; without it
    they stay English, which the screenshots show and the check cannot see (they are not the
    page's text)."""
    # Chromium on Linux takes its own language from LANGUAGE (its --lang flag is not read there).
    browser = browser_type.launch(
        **{**browser_type_launch_args, "env": {**os.environ, "LANGUAGE": "ru"}}
    )
    yield browser
    browser.close()


def test_the_main_journey_reads_in_russian_with_no_english_left(
    russian_browser: Browser, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    fresh_install(live)
    live.shell(STAFF_USER)
    # The browser asks for Russian pages (Accept-Language) and formats as Russian does.
    context = russian_browser.new_context(locale="ru-RU", viewport=VIEWPORT, base_url=live.url)
    page = context.new_page()
    csv_text = "\n".join(CSV_ROWS) + "\n"
    # Staff's logins (hers and the live product's others, in lists of who did what) are names.
    logins = " ".join([STAFF, *re.findall(r'create_\w+\("(\w+)"', USERS)])
    reader = RussianReader(page, screenshots, " ".join([csv_text, BODY, logins]))

    # The browser asks for Russian, so the login page is in Russian; the switch in the header
    # changes the language for the session, and back.
    log_in(page, STAFF)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.locator(".language-switch button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator(".language-switch button[value=ru]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("#time-zone-link")).to_contain_text(TIME_ZONE)
    reader.read("dashboard-empty")

    # Import: the file, the check (nothing imported yet), the import.
    csv_file = tmp_path / "vesna.csv"
    csv_file.write_text(csv_text, encoding="utf-8")
    page.goto("/admin/notifications/audience/")
    page.locator(".object-tools a[href$='/audience/import/']").click()
    reader.read("import")
    page.set_input_files("#id_file", str(csv_file))
    page.fill("#id_new_audience", AUDIENCE)
    page.locator("#import-form input[type=submit]").click()
    expect(page.locator("#import-rejections")).to_contain_text("vesna-9999")
    expect(page.locator("#confirm-form input[type=submit]")).to_have_value(
        re.compile(rf"^Загрузить {GROUPED} строк$")
    )
    reader.read("import-check")
    page.locator("#confirm-form input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text(AUDIENCE)
    reader.read("import-done")

    page.goto("/admin/notifications/recipient/")
    expect(page.locator("#result_list")).to_contain_text("Юлия1")
    reader.read("recipient-list")

    # A template with Cyrillic and an emoji, previewed for one of the buyers.
    page.goto("/admin/notifications/messagetemplate/add/")
    reader.read("template-form")
    page.fill("#id_name", TEMPLATE)
    page.fill("#id_body", BODY)
    page.click("input[name=_continue]")
    page.locator(".object-tools a[href$='/preview/']").click()
    page.fill("#recipient", "vesna-1")
    page.click("#preview-form input[type=submit]")
    expect(page.locator(".preview").first).to_contain_text(
        "Привет, Юлия1! 🌷 Весенняя распродажа в городе Казань."
    )
    reader.read("template-preview")

    # A campaign for the buyers on LeadConverter, and its send plan.
    page.goto("/admin/notifications/campaign/add/")
    reader.read("campaign-form")
    page.fill("#id_name", CAMPAIGN)
    page.select_option("#id_channel", "leadconverter")
    page.click(".field-template .select2-selection")
    page.fill(".select2-search__field", "Весенняя")
    page.click(f".select2-results__option:has-text('{TEMPLATE}')")
    page.dblclick(f"#id_audiences_from option:has-text('{AUDIENCE}')")
    page.click("input[name=_continue]")
    expect(page.locator("#send-plan [data-plan=people]")).to_have_text(re.compile(GROUPED))
    expect(page.locator("#send-plan [data-plan=reachable]")).to_have_text("40")
    expect(page.locator("#previews .preview-card").first).to_contain_text("Привет, Юлия0!")
    reader.read("campaign-plan", phone=True)

    page.locator(".object-tools a.transition-dispatch").click()
    expect(page.locator("#transition-question")).to_contain_text("40 получателям")
    reader.read("dispatch-question")
    page.locator(".submit-row input[type=submit]").click()

    # Sending: the progress fills by itself, then the funnel.
    progress = page.locator("#campaign-progress")
    expect(progress).to_be_visible()
    reader.read("campaign-sending", phone=True)
    expect(progress.locator(".badge")).to_have_text("Завершена", timeout=DONE_SECONDS * 1000)
    funnel = page.locator("#funnel")
    expect(funnel.locator("[data-live-count=sent]")).to_have_text("40")
    expect(page.locator("#timeline svg.timeline")).to_be_visible()
    # As the page's script left it (its sentences come from the progress it polls), then as the
    # server draws a finished campaign.
    reader.read("campaign-done-live")
    page.reload()
    # When it finished, in her zone and as Russian writes it: «6 декабря, 23:46».
    now = datetime.now(ZoneInfo(TIME_ZONE))
    moments = {f"{when.day} {MONTHS[when.month - 1]}, {when:%H:%M}" for when in (now, now - MINUTE)}
    finished = progress.locator("tr", has_text="Завершена").locator("td").inner_text()
    assert finished in moments, f"finished at {finished!r}, not {moments} in {TIME_ZONE}"
    reader.read("campaign-done", phone=True)

    # Where the finished campaign's page leads: the message's versions, a follow-up audience
    # from an outcome, the deliveries behind a count.
    page.locator("#message-version a").click()
    expect(page).to_have_url(re.compile(r"/content/$"))
    reader.read("message-versions")
    page.go_back()
    page.locator("#follow-ups a").first.click()
    expect(page).to_have_url(re.compile(r"/follow-up/\w+/$"))
    reader.read("follow-up")
    page.go_back()
    funnel.locator("[data-live-count=sent]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(40)
    reader.read("delivery-list")

    page.goto("/admin/notifications/campaign/providers/")
    expect(page.locator("#provider-leadconverter")).to_be_visible()
    reader.read("providers")

    page.goto("/admin/notifications/campaign/")
    expect(page.locator("#result_list tr", has_text=CAMPAIGN).locator(".badge")).to_have_text(
        "Завершена"
    )
    reader.read("campaign-list")

    page.goto("/admin/")
    expect(page.locator("#finished")).to_contain_text(CAMPAIGN)
    reader.read("dashboard")

    context.close()
    reader.assert_no_english()
