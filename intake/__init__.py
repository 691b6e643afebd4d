"""Intake: the one ``submit()`` every channel calls, the pipeline, identity and repeats,
and operators' corrections as training data."""
