"""The staff's appeal pages: the list, one appeal with its actions and panels (category,
routing, co-executors, the SLA clock), the inbox."""
