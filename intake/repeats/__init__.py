"""Who is the same citizen (identity, merges) and which appeals raise the same issue
(repeats by one citizen, duplicates at one place, incidents)."""
