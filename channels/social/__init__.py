"""Social-media monitoring: comments on the city's accounts become appeals and get a public
answer (Instagram, Facebook Pages, Telegram discussion groups, VK)."""
