"""The operator console of the 1308 call center: the screen-pop, the caller's card, the form,
the calls, the callback."""
