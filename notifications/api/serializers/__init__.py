"""Request and answer shapes of the API, one module per resource.

Serializers validate and describe; they never save. Views hand the validated data to a service.
Every request serializer refuses fields it does not know (`base.StrictSerializer`), so a
misspelt field is an error rather than silently ignored.
"""
