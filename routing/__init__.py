"""Routing: organizations, districts, the category taxonomy and the rules that pick who answers."""
