"""Infrastructure: configuration, translations, logging, the Bot API transport, splitting."""
