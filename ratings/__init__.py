"""Ratings: citizens' ratings of answers and callers' ratings of operators."""
