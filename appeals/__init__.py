"""The appeal: citizens, appeals, their history and assignments, the lifecycle, the one
write path of a status change, and who may see which appeal. Every capability builds on it."""
