"""The REST API for integrations: recipients, templates, campaigns, messages, history."""
