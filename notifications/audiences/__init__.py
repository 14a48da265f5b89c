"""Audiences: who a campaign goes to. A static list of members, or a segment of rules.

`rules.py` is the rules' vocabulary and their check; `query.py` turns an audience into one SQL
condition on recipients; `services.py` writes audiences and their members (and keeps static
sizes); `follow_up.py` makes a static audience from a campaign's outcome.
"""
