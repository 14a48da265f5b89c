"""Demo data for a fresh install (`manage.py demo_data`): `fill.py` makes the people,
audiences, templates and campaigns through the services; `history.py` writes the past of the
finished campaigns."""
