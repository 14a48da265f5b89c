"""Campaigns from draft to done: the lifecycle, the checks and plan before dispatch, freezing
the audience into deliveries, direct sends, and what staff read of a campaign.

`actions.py` holds the table of what each status allows, `lifecycle.py` the moves;
`preflight.py` and `plan.py` what dispatch would do; `materialise.py` the deliveries; `direct.py`
test sends and API messages; `services.py` drafts; `selectors.py`, `timeline.py`, `sms.py` and
`channels.py` the numbers the desk, the lists and the API show.
"""
