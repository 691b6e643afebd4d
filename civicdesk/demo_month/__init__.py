"""The demo month: ``civicdesk demo --appeals N --days D`` plays a city's month of appeals.

Importable for other capabilities' tests and benchmarks::

    from civicdesk.demo_month import play_month
    report = play_month(appeals=600, days=22, seed=7)  # into the configured database

See docs/demo.md for what it plays and in what proportions.
"""

from civicdesk.demo_month.engine import MARKER, month_loaded, play_month, run_month

__all__ = ["MARKER", "month_loaded", "play_month", "run_month"]
