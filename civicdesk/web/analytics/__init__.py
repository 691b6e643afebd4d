"""The analytics pages (issue 17): /staff/analytics, its CSVs, bursts and weekly reports."""
