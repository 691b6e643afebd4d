"""The knowledge base's editor pages (issue 15)."""
