"""Telegram: aiogram router and handlers, webhook and polling runtime, Bot API sender."""
