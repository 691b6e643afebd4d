"""Intake: citizens and appeals, the one ``submit()`` every channel calls, and the pipeline."""
