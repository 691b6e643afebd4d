"""Telephony: the 1308 call center beside Asterisk (AMI), call records, queue metrics (issue 8)."""
