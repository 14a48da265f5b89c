"""The API's exception handler: each domain error answers with its one status and body shape."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound

from notifications.api.errors import exception_handler
from notifications.api.idempotency import IdempotencyMismatch
from notifications.errors import InvalidInput, StateConflict
from notifications.errors import NotFound as DomainNotFound

CONTEXT = {"view": None, "args": (), "kwargs": {}, "request": None}


def test_a_state_conflict_is_409_with_the_services_sentence():
    response = exception_handler(StateConflict("Campaign 7 is running."), CONTEXT)

    assert (response.status_code, response.data) == (409, {"detail": "Campaign 7 is running."})


def test_a_reused_idempotency_key_is_422_with_the_sentence():
    response = exception_handler(IdempotencyMismatch("Use a new key."), CONTEXT)

    assert (response.status_code, response.data) == (422, {"detail": "Use a new key."})


def test_a_django_validation_error_on_fields_is_400_with_messages_per_field():
    error = DjangoValidationError({"phone": ["Not a phone number."], "name": ["Empty."]})

    response = exception_handler(error, CONTEXT)

    assert response.status_code == 400
    assert response.data == {"phone": ["Not a phone number."], "name": ["Empty."]}


def test_a_django_validation_error_without_a_field_is_400_under_non_field_errors():
    response = exception_handler(DjangoValidationError(["First.", "Second."]), CONTEXT)

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["First.", "Second."]}


def test_invalid_input_is_400_on_the_field_it_names():
    response = exception_handler(InvalidInput("Unknown: x.", field="recipients"), CONTEXT)

    assert (response.status_code, response.data) == (400, {"recipients": ["Unknown: x."]})


def test_a_domain_not_found_is_404_with_its_sentence():
    response = exception_handler(DomainNotFound("Campaign 7 does not exist."), CONTEXT)

    assert (response.status_code, response.data) == (404, {"detail": "Campaign 7 does not exist."})


def test_drf_exceptions_answer_as_drf_answers_them():
    response = exception_handler(NotFound(), CONTEXT)

    assert (response.status_code, response.data) == (404, {"detail": "Not found."})


def test_any_other_exception_is_left_to_django_as_a_500():
    assert exception_handler(RuntimeError("boom"), CONTEXT) is None
