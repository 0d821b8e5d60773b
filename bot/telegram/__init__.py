"""The Telegram face of carecheck: python-telegram-bot application, handlers and jobs."""
