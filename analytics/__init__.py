"""Analytics for the Situation Center: the open export, Open311, hot spots, bursts and the
weekly report; read-only over every room below."""
