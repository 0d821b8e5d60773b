"""Script documents for tests: builders of valid documents and hypothesis strategies.

Documents are plain dicts, as `dialogs.source.load_yaml` returns them; `to_yaml`
writes them out without anchors so the validator reads them back, and
`line_of` finds the line a test expects an error on.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import yaml
from hypothesis import strategies as st

from dialogs.model import LANGUAGES, Script
from dialogs.source import LineMap
from dialogs.validate import validate_document

Doc = dict[str, Any]
LANGS: tuple[str, ...] = ("en", "sl")


class StubFrameworks:
    """A small stand-in for the frameworks registry: two frameworks, a few items each."""

    ITEMS: ClassVar[dict[str, frozenset[str]]] = {
        "equass": frozenset({"participation", "rights", "staff", "leadership"}),
        "cz-sqss": frozenset({"1", "5", "15"}),
    }

    def __contains__(self, framework_id: object) -> bool:
        return framework_id in self.ITEMS

    def item(self, framework_id: str, item_id: str) -> object | None:
        items = self.ITEMS.get(framework_id, frozenset())
        return (framework_id, item_id) if item_id in items else None


STUB = StubFrameworks()


# ---- builders ----


def tr(text: str, languages: Sequence[str] = LANGS) -> dict[str, str]:
    """A text in every language: `{"en": "Hello [en]", "sl": "Hello [sl]"}`."""
    return {lang: f"{text} [{lang}]" for lang in languages}


def scale(
    values: Sequence[int] = (1, 2, 3, 4, 5),
    *,
    not_applicable: bool = True,
    languages: Sequence[str] = LANGS,
    scores: Sequence[float] | None = None,
) -> Doc:
    emoji = ("😞", "🙁", "😐", "🙂", "😀")
    options: list[Doc] = []
    for i, value in enumerate(values):
        option: Doc = {"value": value, "label": tr(f"point {value}", languages)}
        if len(values) <= len(emoji):
            option["emoji"] = emoji[i]
        if scores is not None:
            option["score"] = scores[i]
        options.append(option)
    out: Doc = {"options": options}
    if not_applicable:
        out["not_applicable"] = tr("Don't know", languages)
    return out


def options(values: Sequence[str], languages: Sequence[str] = LANGS) -> list[Doc]:
    return [{"value": v, "label": tr(v.capitalize(), languages)} for v in values]


def question(qid: str, kind: str, languages: Sequence[str] = LANGS, **extra: Any) -> Doc:
    return {"id": qid, "type": kind, "text": tr(f"Question {qid}?", languages), **extra}


def scale_q(
    qid: str, scale_id: str = "agree5", languages: Sequence[str] = LANGS, **extra: Any
) -> Doc:
    return question(qid, "scale", languages, scale=scale_id, **extra)


def yes_no_q(qid: str, languages: Sequence[str] = LANGS, **extra: Any) -> Doc:
    return question(qid, "yes_no", languages, **extra)


def choice_q(
    qid: str,
    values: Sequence[str] = ("often", "sometimes", "never"),
    languages: Sequence[str] = LANGS,
    **extra: Any,
) -> Doc:
    return question(qid, "choice", languages, options=options(values, languages), **extra)


def multi_q(
    qid: str,
    values: Sequence[str] = ("meals", "cleaning", "outings"),
    languages: Sequence[str] = LANGS,
    **extra: Any,
) -> Doc:
    return question(qid, "multi", languages, options=options(values, languages), **extra)


def text_q(
    qid: str, max_length: int | None = None, languages: Sequence[str] = LANGS, **extra: Any
) -> Doc:
    if max_length is not None:
        extra["max_length"] = max_length
    return question(qid, "text", languages, **extra)


def nps_q(qid: str, languages: Sequence[str] = LANGS, **extra: Any) -> Doc:
    return question(qid, "nps", languages, **extra)


def follow_up(show_if: Doc, languages: Sequence[str] = LANGS, max_length: int | None = None) -> Doc:
    out: Doc = {"show_if": show_if, "text": tr("What would help?", languages)}
    if max_length is not None:
        out["max_length"] = max_length
    return out


def section(sid: str, questions: list[Doc], **extra: Any) -> Doc:
    return {"id": sid, **extra, "questions": questions}


def document(
    sections: list[Doc],
    *,
    languages: Sequence[str] = LANGS,
    audience: str = "staff",
    scales: dict[str, Doc] | None = None,
    **extra: Any,
) -> Doc:
    doc: Doc = {
        "id": "test-script",
        "audience": audience,
        "languages": list(languages),
        "title": tr("Check-in", languages),
        "thanks": tr("Thank you", languages),
    }
    doc.update(extra)
    doc["scales"] = scales if scales is not None else {"agree5": scale(languages=languages)}
    doc["sections"] = sections
    return doc


def full_document(languages: Sequence[str] = LANGS) -> Doc:
    """Every question type, both kinds of scale, sections, show_if, follow-ups and maps_to.

    Order: plan (scale, required, follow-up when <= 2), trust (3-point scale without
    "not applicable"), safe (yes/no, follow-up when "no"), when (choice, shown when
    safe is "yes"), help (multi), recommend (nps, follow-up when <= 6), heard (scale,
    shown when help contains "outings"), comment (text, at most 50 characters).
    """
    lg = languages
    daily = section(
        "daily",
        [
            scale_q("plan", required=True, follow_up=follow_up({"lte": 2}, lg), languages=lg),
            scale_q("trust", "freq3", languages=lg),
            yes_no_q("safe", follow_up=follow_up({"eq": "no"}, lg, max_length=100), languages=lg),
            choice_q("when", show_if={"question": "safe", "eq": "yes"}, languages=lg),
            multi_q("help", languages=lg),
        ],
        title=tr("Daily life", lg),
        maps_to={"equass": ["participation"]},
    )
    voice = section(
        "voice",
        [
            nps_q(
                "recommend",
                follow_up=follow_up({"lte": 6}, lg),
                maps_to={"cz-sqss": ["5"]},
                languages=lg,
            ),
            scale_q("heard", show_if={"question": "help", "contains": "outings"}, languages=lg),
            text_q("comment", max_length=50, hint=tr("Optional", lg), languages=lg),
        ],
        maps_to={"equass": ["rights"], "cz-sqss": ["1"]},
    )
    return document(
        [daily, voice],
        languages=lg,
        scales={
            "agree5": scale(languages=lg),
            "freq3": scale((1, 2, 3), not_applicable=False, languages=lg),
        },
        intro=tr("A short check-in", lg),
    )


def pulse_document(count: int = 40, per_session: int = 5, *, follow_ups: bool = True) -> Doc:
    """A staff pulse: `count` scale statements over ten sections, each with a follow-up."""
    per_section = max(1, count // 10)
    sections = []
    for s in range((count + per_section - 1) // per_section):
        questions = []
        for i in range(s * per_section, min(count, (s + 1) * per_section)):
            extra = {"follow_up": follow_up({"lte": 2})} if follow_ups else {}
            questions.append(scale_q(f"s{i:03d}", **extra))
        sections.append(section(f"principle{s}", questions, maps_to={"equass": ["staff"]}))
    return document(sections, pulse={"questions_per_session": per_session, "rotation": "cover-all"})


def build(doc: Doc) -> Script:
    """The Script of a valid document; fails loudly, with the errors, if it is not valid."""
    result = validate_document(copy.deepcopy(doc), "<test>", LineMap(), STUB)
    assert result.ok, [str(e) for e in result.errors]
    assert result.script is not None
    return result.script


# ---- YAML ----


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=4096)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the `nth` line containing `needle`; `nth=-1` is the last."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) >= abs(nth), f"{needle!r} occurs {len(found)} times"
    return found[nth - 1 if nth > 0 else nth]


# ---- hypothesis: valid documents ----

QUESTION_TYPES: tuple[str, ...] = ("scale", "yes_no", "choice", "multi", "text", "nps")
FOLLOW_UP_TYPES = frozenset({"scale", "yes_no", "choice", "nps"})

# Letters of the five languages, YAML's special characters, HTML's, emoji and a wide space.
ALPHABET = "aZ09 _-.,;:?!#&*|>'\"%@`/\\<>[]{}čšžřůėąųūįäöüßñ€😀👍🏽中\u00a0\u3000"
texts = st.text(ALPHABET, min_size=1, max_size=24).filter(lambda s: s.strip() != "")


@st.composite
def translations(draw: st.DrawFn, languages: Sequence[str]) -> dict[str, str]:
    return {lang: draw(texts) for lang in languages}


@st.composite
def scales(draw: st.DrawFn, languages: Sequence[str]) -> Doc:
    low = draw(st.integers(0, 1))
    size = draw(st.integers(2, 7))
    values = list(range(low, low + size))
    with_scores = draw(st.booleans())
    out: Doc = {
        "options": [
            {
                "value": v,
                "label": draw(translations(languages)),
                **({"score": round(1 + 4 * i / (size - 1), 2)} if with_scores else {}),
            }
            for i, v in enumerate(values)
        ]
    }
    if draw(st.booleans()):
        out["not_applicable"] = draw(translations(languages))
    return out


def _values_of(question: Doc, scale_docs: dict[str, Doc]) -> list[Any]:
    kind = question["type"]
    if kind == "yes_no":
        return ["yes", "no", "unsure"]
    if kind == "nps":
        return list(range(11))
    if kind == "scale":
        return [o["value"] for o in scale_docs[question["scale"]]["options"]]
    if kind in ("choice", "multi"):
        return [o["value"] for o in question["options"]]
    return []


@st.composite
def comparisons(draw: st.DrawFn, target: Doc, scale_docs: dict[str, Doc]) -> Doc:
    """One comparison that makes sense for the target question's type."""
    kind = target["type"]
    values = _values_of(target, scale_docs)
    ops = ["answered"]
    if kind in ("scale", "nps"):
        ops += ["eq", "ne", "in", "lt", "lte", "gt", "gte"]
    elif kind in ("yes_no", "choice"):
        ops += ["eq", "ne", "in"]
    elif kind == "multi":
        ops += ["contains"]
    op = draw(st.sampled_from(ops))
    if op == "answered":
        return {"answered": draw(st.booleans())}
    if op == "in":
        return {"in": draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))}
    if op in ("lt", "lte", "gt", "gte"):
        return {op: draw(st.integers(min(values) - 1, max(values) + 1))}
    return {op: draw(st.sampled_from(values))}


@st.composite
def conditions(
    draw: st.DrawFn, targets: list[Doc], scale_docs: dict[str, Doc], depth: int = 2
) -> Doc:
    """A condition over `targets`; a follow-up passes one target and gets no `question` keys."""
    follow = len(targets) == 1 and targets[0].get("_subject", False)
    if depth > 0 and draw(st.integers(0, 4)) == 0:
        group = draw(st.sampled_from(["all", "any", "not"]))
        if group == "not":
            return {"not": draw(conditions(targets, scale_docs, depth - 1))}
        children = st.lists(conditions(targets, scale_docs, depth - 1), min_size=1, max_size=3)
        return {group: draw(children)}
    target = draw(st.sampled_from(targets))
    node = draw(comparisons(target, scale_docs))
    if not follow:
        node = {"question": target["id"], **node}
    return node


@st.composite
def documents(draw: st.DrawFn, max_questions: int = 10) -> Doc:
    """A random valid script document: any types, sections, conditions, follow-ups."""
    languages = draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True))
    audience = draw(st.sampled_from(["staff", "service_user"]))
    scale_docs = {f"sc{i}": draw(scales(languages)) for i in range(draw(st.integers(1, 2)))}
    count = draw(st.integers(1, max_questions))
    questions: list[Doc] = []
    for i in range(count):
        kind = draw(st.sampled_from(QUESTION_TYPES))
        q: Doc = {"id": f"q{i}", "type": kind, "text": draw(translations(languages))}
        if kind == "scale":
            q["scale"] = draw(st.sampled_from(sorted(scale_docs)))
        elif kind in ("choice", "multi"):
            n = draw(st.integers(2, 5))
            q["options"] = [
                {"value": f"o{k}", "label": draw(translations(languages))} for k in range(n)
            ]
        elif kind == "text" and draw(st.booleans()):
            q["max_length"] = draw(st.integers(1, 2000))
        if audience == "staff" and draw(st.integers(0, 3)) == 0:
            q["required"] = True
        if draw(st.booleans()):
            q["hint"] = draw(translations(languages))
        if questions and draw(st.integers(0, 2)) == 0:
            q["show_if"] = draw(conditions(questions, scale_docs))
        if kind in FOLLOW_UP_TYPES and draw(st.booleans()):
            subject = {**q, "_subject": True}
            q["follow_up"] = {
                "show_if": draw(conditions([subject], scale_docs)),
                "text": draw(translations(languages)),
            }
            if draw(st.booleans()):
                q["follow_up"]["max_length"] = draw(st.integers(1, 2000))
        if draw(st.integers(0, 3)) == 0:
            q["maps_to"] = {
                "cz-sqss": draw(st.lists(st.sampled_from(["1", "5", "15"]), min_size=1))
            }
        questions.append(q)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, count - 1)), max_size=2)))
    bounds = [0, *[c for c in cuts if c < count], count]
    sections = []
    for s, (a, b) in enumerate(itertools.pairwise(bounds)):
        if a == b:
            continue
        sec: Doc = {"id": f"sec{s}"}
        if draw(st.booleans()):
            sec["title"] = draw(translations(languages))
        if draw(st.booleans()):
            sec["maps_to"] = {"equass": draw(st.lists(st.sampled_from(["rights", "staff"])))}
        sec["questions"] = questions[a:b]
        sections.append(sec)
    doc = document(sections, languages=languages, audience=audience, scales=scale_docs)
    doc["title"] = draw(translations(languages))
    doc["thanks"] = draw(translations(languages))
    if draw(st.booleans()):
        doc["needs_review"] = draw(st.lists(st.sampled_from(languages), unique=True))
    if draw(st.booleans()):
        per = draw(st.integers(1, count))
        # A rotating pulse has no conditions between questions (a validator rule).
        conditional = any("show_if" in q for q in questions)
        rotation = "none" if conditional else draw(st.sampled_from(["cover-all", "none"]))
        doc["pulse"] = {"questions_per_session": per, "rotation": rotation}
    doc["resubmit"] = draw(st.booleans())
    return doc


# ---- hypothesis: mistakes ----

Mutation = Callable[[st.DrawFn, Doc], str]


def _questions(doc: Doc) -> list[Doc]:
    return [q for s in doc["sections"] for q in s["questions"]]


def _texts(doc: Doc) -> list[dict[str, str]]:
    found: list[dict[str, str]] = [doc["title"], doc["thanks"]]
    for q in _questions(doc):
        found.append(q["text"])
        if "follow_up" in q:
            found.append(q["follow_up"]["text"])
    for sc in doc["scales"].values():
        found += [o["label"] for o in sc["options"]]
    return found


def _unknown_key(draw: st.DrawFn, doc: Doc) -> str:
    places: list[Doc] = [doc, *doc["sections"], *_questions(doc), *doc["scales"].values()]
    places += [q["follow_up"] for q in _questions(doc) if "follow_up" in q]
    place = draw(st.sampled_from(places))
    place[draw(st.sampled_from(["colour", "Type", "questoins", "weight"]))] = "blue"
    return "unknown_key"


def _missing_language(draw: st.DrawFn, doc: Doc) -> str:
    text = draw(st.sampled_from(_texts(doc)))
    del text[draw(st.sampled_from(sorted(text)))]
    return "language"


def _unknown_language(draw: st.DrawFn, doc: Doc) -> str:
    draw(st.sampled_from(_texts(doc)))["fr"] = "Bonjour"
    return "language"


def _duplicate_question_id(draw: st.DrawFn, doc: Doc) -> str:
    questions = _questions(doc)
    if len(questions) == 1:
        doc["sections"][0]["questions"].append(copy.deepcopy(questions[0]))
    else:
        i = draw(st.integers(1, len(questions) - 1))
        questions[i]["id"] = questions[draw(st.integers(0, i - 1))]["id"]
    return "duplicate_id"


def _duplicate_section_id(draw: st.DrawFn, doc: Doc) -> str:
    doc["sections"].append({"id": doc["sections"][0]["id"], "questions": [yes_no_q("zz")]})
    for q in doc["sections"][-1]["questions"]:
        q["text"] = {lang: "Yes?" for lang in doc["languages"]}
    return "duplicate_id"


def _dangling_scale(draw: st.DrawFn, doc: Doc) -> str:
    q = draw(st.sampled_from(_questions(doc)))
    for key in ("options", "max_length"):
        q.pop(key, None)
    q["type"] = "scale"
    q["scale"] = "no-such-scale"
    return "reference"


def _dangling_framework(draw: st.DrawFn, doc: Doc) -> str:
    place = draw(st.sampled_from([*doc["sections"], *_questions(doc)]))
    if draw(st.booleans()):
        place["maps_to"] = {"iso9001": ["x"]}
    else:
        place["maps_to"] = {"equass": ["no-such-item"]}
    return "reference"


def _later_condition(draw: st.DrawFn, doc: Doc) -> str:
    questions = _questions(doc)
    i = draw(st.integers(0, len(questions) - 1))
    j = draw(st.integers(i, len(questions) - 1))
    later = questions[j]["id"] if j > i else "no-such-question"
    questions[i]["show_if"] = {"question": later, "answered": True}
    return "reference"


def _long_text(draw: st.DrawFn, doc: Doc) -> str:
    lang = draw(st.sampled_from(doc["languages"]))
    place, limit = draw(
        st.sampled_from(
            [(doc["title"], 120), (doc["thanks"], 1500)]
            + [(q["text"], 700) for q in _questions(doc)]
        )
    )
    place[lang] = "x" * (limit + draw(st.integers(1, 50)))
    return "long"


def _too_many_questions(draw: st.DrawFn, doc: Doc) -> str:
    have = len(_questions(doc))
    extra = [
        {"id": f"extra{i}", "type": "yes_no", "text": {lang: "Ok?" for lang in doc["languages"]}}
        for i in range(201 - have)
    ]
    doc["sections"][-1]["questions"].extend(extra)
    doc.pop("pulse", None)
    return "too_many"


def _wrong_type(draw: st.DrawFn, doc: Doc) -> str:
    q = draw(st.sampled_from(_questions(doc)))
    choice = draw(st.integers(0, 4))
    if choice == 0:
        q["required"] = "maybe"
    elif choice == 1:
        q["type"] = "slider"
    elif choice == 2:
        q["text"] = "just a string"
    elif choice == 3:
        doc["languages"] = "en"
    else:
        doc["sections"][0]["questions"] = {"id": "x"}
    return "type"


MUTATIONS: dict[str, Mutation] = {
    "unknown_key": _unknown_key,
    "missing_language": _missing_language,
    "unknown_language": _unknown_language,
    "duplicate_question_id": _duplicate_question_id,
    "duplicate_section_id": _duplicate_section_id,
    "dangling_scale": _dangling_scale,
    "dangling_framework": _dangling_framework,
    "later_condition": _later_condition,
    "long_text": _long_text,
    "too_many_questions": _too_many_questions,
    "wrong_type": _wrong_type,
}


@st.composite
def mutated_documents(draw: st.DrawFn, kinds: Sequence[str] = tuple(MUTATIONS)) -> tuple[Doc, str]:
    """A valid document with one mistake, and the error code the mistake must produce."""
    doc = copy.deepcopy(draw(documents(max_questions=6)))
    kind = draw(st.sampled_from(list(kinds)))
    code = MUTATIONS[kind](draw, doc)
    return doc, code


# ---- hypothesis: junk anywhere ----

junk_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "yes", "agree5", "q0", "sec0", "en", "scale", "multi", "x" * 800])
    | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["question", "eq", "lte", "in", "en", "id", "x"]), inner)
    ),
    max_leaves=6,
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a document, for replacing one value."""
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            found += _slots(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.append((node, i))
            found += _slots(value)
    return found


@st.composite
def junk_documents(draw: st.DrawFn) -> Doc:
    """A valid document with one to three values replaced by arbitrary data of any type."""
    doc = copy.deepcopy(draw(documents(max_questions=5)))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_slots(doc)))
        container[key] = draw(junk_values)
    return doc
