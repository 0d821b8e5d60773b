"""Dialog scripts and the engine that plays them; pure, no Telegram and no I/O."""

from pathlib import Path

# The default scripts shipped with carecheck (data; reading them is the caller's job).
SHIPPED_SCRIPTS = Path(__file__).with_name("scripts")
