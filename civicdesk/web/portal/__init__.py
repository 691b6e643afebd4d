"""The citizens' portal: the appeal form, the status page by tracking number."""
