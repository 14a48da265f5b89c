"""Recipients and audiences: the people we send to, their addresses on each channel, and who
is in which audience.

Services (`services.py` for one recipient, address or audience; `upsert.py` for many, from a CSV
file or the API), reads (`selectors.py`: the attributes templates may use, who a channel
reaches), and the checks every interface shares (`validators.py`). Reading CSV files
(`reading.py`) and keeping one between a dry run and its confirmation (`staging.py`); the
rejects file is written with the exports' rule against formulas (`exports/inert.py`).
"""
