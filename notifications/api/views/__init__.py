"""API views, one module per resource: check the request, call a service, describe the result.

No business logic here. `urls.py` wires them to their routes.
"""
