"""The operators' social-media monitoring page (issue 18)."""
