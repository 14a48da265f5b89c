"""The domain's three refusals carry their meaning by inheritance, so interfaces need no glue."""

from django.core.exceptions import ObjectDoesNotExist, ValidationError

from notifications.errors import REFUSALS, InvalidInput, NotFound, StateConflict


def test_invalid_input_on_a_field_is_a_validation_error_by_field():
    error = InvalidInput("Unknown: x.", field="recipients")

    assert isinstance(error, ValidationError)
    assert error.message_dict == {"recipients": ["Unknown: x."]}
    assert str(error) == "Unknown: x."


def test_invalid_input_without_a_field_reads_as_its_sentence():
    assert str(InvalidInput("Give a template or a content.")) == "Give a template or a content."


def test_not_found_is_what_django_calls_a_missing_object():
    assert isinstance(NotFound("Campaign 7 does not exist."), ObjectDoesNotExist)


def test_a_state_conflict_is_neither_bad_input_nor_missing():
    assert not isinstance(StateConflict("x"), ValidationError | ObjectDoesNotExist)
    assert set(REFUSALS) == {InvalidInput, StateConflict, NotFound}
