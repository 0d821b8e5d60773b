"""/settings: an organisation's settings on inline keyboards, for its administrators.

One message shows the settings; a setting's button turns it into that setting's
choices, and a choice stores it and shows the settings again. Every press goes to
the settings desk, which checks the presser and the value again.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update

from bot.infra.i18n import LANGUAGE_NAMES, Translator, _, translator
from bot.services.digests.locale_format import score
from bot.services.org_settings import ZONE_CHOICES, day_name
from bot.services.refusal import Refusal
from bot.services.safeguarding import DEFAULT_HELP
from bot.services.settings_desk import KEEP_ZONE, OVERVIEW, SETTINGS, Panel
from bot.telegram.callbacks import encode
from bot.telegram.command_args import ChooseOrganisation, settings_scope
from bot.telegram.context import CarecheckContext
from bot.telegram.replies import (
    View,
    answers_query,
    button,
    choose_organisation,
    identify,
    pressed,
    refusal_text,
    say,
    show,
)

LABELS = {
    "lens": _("Framework"),
    "day": _("Check-in day"),
    "hour": _("Check-in hour"),
    "tz": _("Time zone"),
    "lang": _("Language"),
    "k": _("Smallest group"),
    "ret": _("Comments kept"),
    "gap": _("Gap threshold"),
    "win": _("Score window"),
    "help": _("Help text"),
}
# Buttons per row for each setting's choices.
COLUMNS = {"lens": 1, "tz": 2, "hour": 6, "day": 4}
SAVED = _("Saved.")


async def on_settings(update: Update, context: CarecheckContext) -> None:
    who = await identify(update, context)
    t = translator(who.language)
    scope = settings_scope(who)
    if isinstance(scope, Refusal):
        await say(update, context, refusal_text(t, scope))
        return
    if isinstance(scope, ChooseOrganisation):
        await choose_organisation(update, context, t, lambda org: encode("st", org, OVERVIEW, ""))
        return
    panel = await context.runtime.settings_desk.press(who, scope, OVERVIEW, "")
    chat = update.effective_chat
    assert chat is not None
    if isinstance(panel, Refusal):
        await say(update, context, refusal_text(t, panel))
    else:
        await show(context, chat.id, panel_view(panel, t))


@answers_query
async def on_settings_button(update: Update, context: CarecheckContext) -> str | None:
    """A setting, a value, "back", or a global administrator's choice of organisation."""
    _, message, who, t, data = await pressed(update, context)
    panel = await context.runtime.settings_desk.press(
        who, data.org or 0, data.setting or "", data.value or ""
    )
    if isinstance(panel, Refusal):
        return refusal_text(t, panel)
    view = panel_view(panel, t)
    await show(context, message.chat.id, view, message.message_id)
    return t(SAVED) if panel.saved else None


def panel_view(panel: Panel, t: Translator) -> View:
    org = panel.org
    heading = t("Settings of {org}", org=org.name)
    lines = [
        f"<b>{escape(heading)}</b>",
        t("Framework: {name}", name=panel.lens_name(org.lens, t.language)),
        t(
            "Check-in: {day} at {hour}, {zone}",
            day=day_name(org.checkin_weekday, t.language),
            hour=f"{org.checkin_hour:02d}:00",
            zone=org.timezone,
        ),
        t("Language: {name}", name=LANGUAGE_NAMES.get(org.language, org.language)),
        t("Smallest group shown: {k}", k=org.k_threshold),
        t("Comments kept (months): {months}", months=org.retention_months),
        t("Gap threshold (points): {gap}", gap=score(org.gap_threshold, t.language, 2)),
        t("Score window (weeks): {weeks}", weeks=panel.window),
        t("Safeguarding help text: {which}", which=_help_source(panel, t)),
    ]
    text = "\n".join([lines[0], *(escape(line) for line in lines[1:])])
    if panel.choosing is None:
        labels = [button(t(LABELS[s]), encode("st", org.id, s, "")) for s in SETTINGS]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        return View(text, InlineKeyboardMarkup(rows))
    setting = panel.choosing
    choices = [
        button(
            ("✓ " if current else "") + _value_label(panel, setting, value, t)[:50],
            encode("st", org.id, setting, value),
        )
        for value, current in panel.offered()
    ]
    width = COLUMNS.get(setting, 3)
    rows = [choices[i : i + width] for i in range(0, len(choices), width)]
    rows.append([button(t("◀ Back"), encode("st", org.id, OVERVIEW, ""))])
    prompt = escape(t("Choose: {setting}", setting=t(LABELS[setting])))
    if setting == "help":
        shown = panel.help_texts.get(t.language) or t(DEFAULT_HELP)
        prompt = "\n\n".join(
            [
                f"<blockquote>{escape(shown)}</blockquote>",
                escape(
                    t(
                        "To write your own, in each language: carecheck org set {org}"
                        " --help-text-file FILE",
                        org=org.id,
                    )
                ),
            ]
        )
    return View(f"{text}\n\n{prompt}", InlineKeyboardMarkup(rows))


def _help_source(panel: Panel, t: Translator) -> str:
    if not panel.help_texts:
        return t("the default")
    return t("your own ({languages})", languages=", ".join(sorted(panel.help_texts)))


def _value_label(panel: Panel, setting: str, value: str, t: Translator) -> str:
    if setting == "lens":
        return panel.lens_name(value, t.language)
    if setting == "day":
        return day_name(int(value), t.language)
    if setting == "hour":
        return f"{int(value):02d}:00"
    if setting == "tz":
        return panel.org.timezone if value == KEEP_ZONE else ZONE_CHOICES[int(value)]
    if setting == "lang":
        return LANGUAGE_NAMES[value]
    if setting == "gap":
        return score(int(value) / 100, t.language, 2)
    if setting == "help":
        return t("Back to the default text")
    return value
