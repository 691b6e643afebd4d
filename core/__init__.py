"""Core: settings, database, staff and roles, the clock and calendar, jobs, errors.

Nothing here imports another CivicDesk package; everything else may import this.
"""
