"""Rendering: sandboxed Liquid, per-recipient context, and the checks staff see as errors."""

import pytest

from notifications.content.checks import (
    channel_template_errors,
    content_errors,
    deeplink_error,
    https_url_error,
    render_for_channel,
    template_errors,
)
from notifications.content.rendering import (
    CompiledTemplate,
    RenderError,
    compile_template,
    recipient_context,
)
from notifications.models import Recipient
from notifications.providers.values import Content


def test_renders_recipient_fields_and_attributes():
    compiled = CompiledTemplate({"body": "Hi {{ first_name }} from {{ city }}"})
    content = compiled.render({"first_name": "Ann", "city": "Kazan"})
    assert content.body == "Hi Ann from Kazan"


def test_recipient_fields_win_over_attributes_of_the_same_name():
    recipient = Recipient(
        external_id="c-1", first_name="Ann", attributes={"first_name": "X", "a": 1}
    )
    context = recipient_context(recipient)
    assert context["first_name"] == "Ann"
    assert context["a"] == 1
    assert context["external_id"] == "c-1"


def test_missing_variable_is_an_error_naming_it():
    compiled = CompiledTemplate({"body": "Hi {{ nickname }}"})
    with pytest.raises(RenderError) as raised:
        compiled.render({})
    assert raised.value.field == "body"
    assert "nickname" in raised.value.message


def test_default_filter_covers_a_missing_variable():
    compiled = CompiledTemplate({"body": "Hi {{ nickname | default: 'friend' }}"})
    assert compiled.render({}).body == "Hi friend"


def test_include_and_render_tags_are_not_available():
    for source in ("{% include 'secrets' %}", "{% render 'secrets' %}"):
        with pytest.raises(RenderError, match="unexpected tag"):
            CompiledTemplate({"body": source})


def test_python_attributes_are_not_reachable():
    compiled = CompiledTemplate({"body": "{{ first_name.__class__ }}"})
    with pytest.raises(RenderError):
        compiled.render({"first_name": "Ann"})


def test_loop_iterations_are_capped(settings):
    settings.VESTNIK_RENDER_MAX_LOOP_ITERATIONS = 50
    compiled = CompiledTemplate({"body": "{% for i in items %}x{% endfor %}"})
    assert compiled.render({"items": list(range(10))}).body == "x" * 10
    with pytest.raises(RenderError, match="loop iteration limit"):
        compiled.render({"items": list(range(51))})


def test_output_length_is_capped(settings):
    settings.VESTNIK_RENDER_MAX_OUTPUT = 100
    compiled = CompiledTemplate({"body": "{{ text }}"})
    with pytest.raises(RenderError, match="limit"):
        compiled.render({"text": "y" * 500})


def test_doubling_a_string_in_a_loop_is_stopped():
    source = (
        "{% assign s = seed %}{% for i in (1..40) %}{% assign s = s | append: s %}"
        "{% endfor %}{{ s | size }}"
    )
    compiled = CompiledTemplate({"body": source})
    with pytest.raises(RenderError, match="limit reached"):
        compiled.render({"seed": "abcd"})


def test_text_without_variables_renders_once_and_is_stripped():
    compiled = CompiledTemplate({"title": "  Sale  ", "body": "{% if true %} Now {% endif %}"})
    assert compiled.render({}) == Content(title="Sale", body="Now")


def test_compile_template_reuses_the_parsed_template():
    fields = {"body": "Hi {{ first_name }}"}
    assert compile_template(fields) is compile_template(dict(fields))


def test_syntax_error_is_reported_for_its_field():
    errors = template_errors({"title": "ok", "body": "Hi {{ name "}, known_variables=["name"])
    assert list(errors) == ["body"]
    assert errors["body"][0].startswith("Template error:")


def test_unknown_filter_is_a_template_error():
    errors = template_errors({"body": "{{ first_name | shout }}"}, known_variables=[])
    assert errors == {"body": ["Template error: unknown filter 'shout'."]}


def test_variables_no_recipient_can_have_are_reported():
    errors = template_errors(
        {"body": "{{ first_name }} {{ city }} {{ cty }}"}, known_variables=["city"]
    )
    assert errors == {
        "body": [
            "No recipient has this variable: cty. Import a column of that name or fix the spelling."
        ]
    }


def test_locally_assigned_variables_are_not_unknown():
    source = "{% assign greeting = 'Hi' %}{{ greeting }} {% for c in (1..2) %}{{ c }}{% endfor %}"
    assert template_errors({"body": source}, known_variables=[]) == {}


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("slug://browse", True),
        ("myapp://product/42?ref=push", True),
        ("https://shop.example/sale", True),
        ("http://shop.example/sale", False),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,hi", False),
        ("no-scheme", False),
        ("myapp:", False),
        ("myapp://a b", False),
        ("myapp://a\nb", False),
        ("myapp://" + "a" * 2100, False),
    ],
)
def test_deeplinks_are_app_schemes_or_https(link, ok):
    assert (deeplink_error(link) is None) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.example/a.png", True),
        ("http://cdn.example/a.png", False),
        ("https://", False),
        ("ftp://cdn.example/a.png", False),
        ("https://cdn.example/a b.png", False),
    ],
)
def test_avatar_urls_are_https(url, ok):
    assert (https_url_error(url) is None) is ok


def test_link_templates_are_checked_on_their_fixed_part():
    fields = {
        "deeplink": "javascript:{{ payload }}",
        "avatar_url": "http://cdn/{{ id }}.png",
    }
    errors = template_errors(fields, known_variables=["payload", "id"])
    assert errors["deeplink"] == [
        "The link uses the 'javascript' scheme; use https:// or an app scheme."
    ]
    assert errors["avatar_url"] == ["The link must be an https:// URL."]


def test_link_templates_with_a_variable_part_pass_when_the_fixed_part_is_fine():
    fields = {"deeplink": "myapp://product/{{ sku }}", "avatar_url": "https://cdn/{{ sku }}.png"}
    assert template_errors(fields, known_variables=["sku"]) == {}


def test_a_link_that_is_only_a_variable_is_checked_per_recipient():
    compiled = compile_template({"title": "t", "body": "b", "deeplink": "{{ link }}"})
    assert render_for_channel(compiled, "imshop", {"link": "myapp://x"}).deeplink == "myapp://x"
    with pytest.raises(RenderError, match="scheme"):
        render_for_channel(compiled, "imshop", {"link": "javascript:alert(1)"})


def test_static_file_uuid_must_be_a_uuid():
    errors = template_errors({"file_uuid": "not-a-uuid"}, known_variables=[])
    assert errors == {
        "file_uuid": ["File UUID must be a UUID such as db0227be-c7c7-484e-8fa4-de9bcfd4723f."]
    }


@pytest.mark.parametrize(
    ("channel", "fields", "expected"),
    [
        ("imshop", {"body": "b"}, {"title": ["Imshop pushes need a title."]}),
        ("imshop", {"title": "t"}, {"body": ["Imshop pushes need a text."]}),
        ("imshop", {"title": "t", "body": "b"}, {}),
        (
            "leadconverter",
            {},
            {"body": ["LeadConverter messages need a text, a file UUID, or both."]},
        ),
        ("leadconverter", {"file_uuid": "db0227be-c7c7-484e-8fa4-de9bcfd4723f"}, {}),
        ("yandex_market", {"title": "t"}, {"body": ["Yandex Market messages need a text."]}),
        ("bitrix24", {"title": "t"}, {"body": ["Bitrix24 pushes need a text."]}),
        ("bitrix24", {"body": "b"}, {}),
    ],
)
def test_channel_requirements_are_checked_from_the_template(channel, fields, expected):
    assert channel_template_errors(channel, fields) == expected


def test_yandex_text_over_4096_characters_is_refused_before_sending():
    assert channel_template_errors("yandex_market", {"body": "x" * 4097}) == {
        "body": ["Yandex Market accepts at most 4096 characters; this text has 4097."]
    }
    assert content_errors("yandex_market", Content(body="x" * 4096)) == {}
    assert content_errors("yandex_market", Content(body="x" * 4097))["body"] == [
        "Yandex Market accepts at most 4096 characters; this text has 4097."
    ]


def test_rendered_text_that_grows_past_the_channel_limit_fails_for_that_recipient():
    compiled = compile_template({"body": "{{ note }}"})
    assert render_for_channel(compiled, "yandex_market", {"note": "short"}).body == "short"
    with pytest.raises(RenderError, match="4096"):
        render_for_channel(compiled, "yandex_market", {"note": "x" * 5000})


def test_render_for_channel_renders_only_what_the_channel_sends():
    compiled = compile_template({"title": "{{ missing }}", "body": "Hi"})
    assert render_for_channel(compiled, "bitrix24", {}) == Content(body="Hi")
