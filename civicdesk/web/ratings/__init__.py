"""The ranking pages: leadership, executors, call-center supervisors and the public."""
