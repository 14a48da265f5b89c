"""Exports staff hand to a colleague: a list's rows as CSV or as an Excel workbook.

What each export holds, column by column (`columns.py`); the writers that stream those rows
in flat memory, CSV straight to the response and Excel through a temporary file
(`writers.py`); the jobs a worker writes for lists too long to wait for (`jobs.py`); and the
one rule that keeps a cell from running as a spreadsheet formula
(`inert.py`), which every file we write for people follows.
"""
