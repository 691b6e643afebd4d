"""The inspectors' SLA board: overdue and at-risk appeals per organization or district."""
