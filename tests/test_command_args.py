"""A command's words become a typed request or one clear refusal, whatever they are.

First the decoding itself (weeks outside 2000-2100, ids beyond any integer, words
of any script); then random words after every command, sent to the real bot by a
manager, a staff member and a global administrator: each gets an answer, never
"Something went wrong", and the fake Bot API sees no error.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.infra.i18n import translator
from bot.services.identity import Identity
from bot.services.refusal import Refusal
from bot.telegram.command_args import (
    BAD_WEEK,
    DIGEST_USAGE,
    ChooseOrganisation,
    DigestRequest,
    digest_request,
    invite_request,
)
from storage.people import Membership, PeopleRepo
from tests.fake_clock import FakeClock
from tests.fakebotapi.server import FakeBotAPI
from tests.harness import Harness

T = translator("en")
MANAGER = Identity(7, None, (Membership(1, 3, None, "manager"),), "k", "en", True)
GLOBAL = Identity(8, None, (Membership(2, None, None, "admin"),), "k", "en", True)
COMMANDS = ("start", "checkin", "language", "help", "privacy", "forget", "stop", "invite",
            "scripts", "digest", "actions")  # fmt: skip


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], DigestRequest(3, None, None)),
        (["2"], DigestRequest(3, 2, None)),
        (["2026-W47"], DigestRequest(3, None, "2026-W47")),
        (["2026-W47", "2"], DigestRequest(3, 2, "2026-W47")),
        (["0001-W01"], Refusal(BAD_WEEK)),
        (["9999-W52"], Refusal(BAD_WEEK)),
        (["2026-W60"], Refusal(BAD_WEEK)),
        (["²"], Refusal(DIGEST_USAGE)),
        (["99999999999999999999"], Refusal(DIGEST_USAGE)),
        (["0"], Refusal(DIGEST_USAGE)),
        (["1", "2"], Refusal(DIGEST_USAGE)),
        (["-3"], Refusal(DIGEST_USAGE)),
    ],
)
def test_digest_words(words: list[str], expected: object) -> None:
    assert digest_request(MANAGER, words) == expected


def test_a_global_administrator_chooses_the_organisation() -> None:
    assert digest_request(GLOBAL, ["2026-W47"]) == ChooseOrganisation("2026-W47")
    assert invite_request(GLOBAL, ["manager"]) == ChooseOrganisation("manager")
    assert isinstance(invite_request(GLOBAL, ["boss"]), Refusal)


words = st.lists(
    st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda w: not w.isspace()),
        st.integers(min_value=-(10**25), max_value=10**25).map(str),
        st.sampled_from(["2026-W47", "0001-W01", "9999-W52", "²", "١٢", "staff", "admin", "0"]),
    ),
    max_size=4,
)


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(st.sampled_from(COMMANDS), words, st.integers(0, 2)), max_size=25))
def test_random_words_after_every_command(sent: list[tuple[str, list[str], int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_send_all(sent, Path(directory)))


async def _send_all(sent: list[tuple[str, list[str], int]], directory: Path) -> None:
    async with FakeBotAPI() as api:
        bot = Harness(api, directory, FakeClock())
        await bot.start()
        try:
            org = await bot.org("Dom Sonce")
            people = PeopleRepo(bot.rt.db)
            cast = []
            for name, org_id, role in (("Maja", org, "manager"), ("Sam", org, "staff"),
                                       ("Root", None, "admin")):  # fmt: skip
                user = bot.user(name)
                person = await people.get_or_create(user.id, "en")
                await people.add_membership(person.id, org_id, None, role)  # type: ignore[arg-type]
                cast.append(user)
            for command, args, who in sent:
                user = cast[who]
                before = len(api.messages(user.id))
                payload = " ".join(args)[:60] or None
                api.send_command(user, "/" + command, payload)
                await api.wait_for(lambda u=user, b=before: len(api.messages(u.id)) > b, 15)
            await asyncio.sleep(0.1)
        finally:
            await bot.stop()
        api.assert_no_errors()
        wrong = T(
            "Something went wrong. Your answers so far are saved; please try again in a moment."
        )
        for user in cast:
            assert wrong not in [m.text for m in api.messages(user.id)]
