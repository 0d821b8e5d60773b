"""Bounds a script must stay within so that every screen fits Telegram's limits.

A question screen is: title line, progress, question text, hint, and buttons.
Telegram allows 4096 characters of text, 64 bytes of callback data, 8 buttons a
row and about 100 in all; these bounds keep every screen well inside.
"""

MAX_FILE_BYTES = 256 * 1024
MAX_QUESTIONS = 200
MAX_TITLE_CHARS = 120
MAX_QUESTION_CHARS = 700
MAX_HINT_CHARS = 300
MAX_INTRO_CHARS = 1500
MAX_BUTTON_LABEL_CHARS = 40
MAX_OPTIONS = 12
MAX_TEXT_ANSWER_CHARS = 2000
DEFAULT_TEXT_ANSWER_CHARS = 500
# The longest screen: everything above plus progress and markup stays below this.
MAX_SCREEN_CHARS = 4096
