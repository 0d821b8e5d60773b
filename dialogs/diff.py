"""What a draft script changes against the active version, for the admin to see before publishing.

Digests match answers across versions by question id, so an id must keep its
meaning: a question whose meaning changes must get a new id. The summary
therefore warns when a text changed a lot under the same id, or when the
answers a question takes changed, besides listing what was added, removed,
reworded and moved.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from dialogs.model import Question, Script

# Below this similarity (difflib's ratio, 0..1) a reworded text is probably a new question.
SIMILARITY_WARNING = 0.6
SETTINGS = ("audience", "title", "intro", "thanks", "pulse", "resubmit", "needs_review")


@dataclass(frozen=True, slots=True)
class Reworded:
    question_id: str
    languages: tuple[str, ...]  # whose text changed
    similarity: float | None  # of the English text (or the first language both have)


@dataclass(frozen=True, slots=True)
class Moved:
    question_id: str
    from_section: str
    to_section: str


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    script_id: str
    new_script: bool = False  # nothing active to compare with
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reworded: tuple[Reworded, ...] = ()
    moved: tuple[Moved, ...] = ()
    answers_changed: tuple[str, ...] = ()  # type, scale or options changed under the same id
    logic_changed: tuple[str, ...] = ()  # required, conditions (also safeguarding), lengths
    remapped: tuple[str, ...] = ()  # framework items changed: digests file them elsewhere
    languages_added: tuple[str, ...] = ()
    languages_removed: tuple[str, ...] = ()
    scales_added: tuple[str, ...] = ()
    scales_removed: tuple[str, ...] = ()
    scales_changed: tuple[str, ...] = ()
    sections_added: tuple[str, ...] = ()
    sections_removed: tuple[str, ...] = ()
    sections_changed: tuple[str, ...] = ()  # title or framework items
    settings_changed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def unchanged(self) -> bool:
        return not self.new_script and not any(
            getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("script_id", "new_script")
        )

    def lines(self) -> list[str]:
        """The summary in plain English, one line per kind of change, warnings last."""
        if self.new_script:
            head = [f"{self.script_id}: a new script with {len(self.added)} questions"]
            return head + [f"warning: {w}" for w in self.warnings]
        if self.unchanged:
            return [f"{self.script_id}: no changes against the active version"]
        out = [f"{self.script_id}: changes against the active version"]
        out += _listed("added", self.added)
        out += _listed("removed", self.removed)
        out += _listed("reworded", [_reworded(r) for r in self.reworded])
        out += _listed("moved", [f"{m.question_id} ({_move(m)})" for m in self.moved])
        out += _listed("answers changed", self.answers_changed)
        out += _listed("conditions or limits changed", self.logic_changed)
        out += _listed("framework items changed", self.remapped)
        out += _listed("languages added", self.languages_added, count=False)
        out += _listed("languages removed", self.languages_removed, count=False)
        out += _listed("scales added", self.scales_added, count=False)
        out += _listed("scales removed", self.scales_removed, count=False)
        out += _listed("scales changed", self.scales_changed, count=False)
        out += _listed("sections added", self.sections_added, count=False)
        out += _listed("sections removed", self.sections_removed, count=False)
        out += _listed("sections changed", self.sections_changed, count=False)
        out += _listed("settings changed", self.settings_changed, count=False)
        return out + [f"warning: {w}" for w in self.warnings]


def summarise(active: Script | None, draft: Script) -> ChangeSummary:
    """The changes `draft` makes to `active` (None: the draft is a new script)."""
    if active is None:
        return ChangeSummary(
            draft.id, new_script=True, added=tuple(q.id for q in draft.questions())
        )
    old = {q.id: q for q in active.questions()}
    new = {q.id: q for q in draft.questions()}
    common = [qid for qid in new if qid in old]
    warnings: list[str] = []
    reworded = []
    for qid in common:
        change = _rewording(old[qid], new[qid])
        if change is None:
            continue
        reworded.append(change)
        if change.similarity is not None and change.similarity < SIMILARITY_WARNING:
            warnings.append(
                f"{qid}: the text changed a lot ({change.similarity:.0%} alike); "
                "a question whose meaning changes must get a new id, "
                "or its new answers are counted with the old ones"
            )
    answers_changed = [
        qid for qid in common if _answers(active, old[qid]) != _answers(draft, new[qid])
    ]
    for qid in answers_changed:
        warnings.append(
            f"{qid}: its answers changed ({_describe(active, old[qid])} -> "
            f"{_describe(draft, new[qid])}); give it a new id so old and new answers are not mixed"
        )
    remapped = [qid for qid in common if _items(active, old[qid]) != _items(draft, new[qid])]
    scales_changed = tuple(
        name
        for name in draft.scales
        if name in active.scales and active.scales[name] != draft.scales[name]
    )
    for name in scales_changed:
        if _points(active, name) != _points(draft, name):
            warnings.append(
                f"scale {name}: its points changed; answers on it are no longer comparable"
            )
    logic = [qid for qid in common if _logic(old[qid]) != _logic(new[qid])]
    settings = tuple(s for s in SETTINGS if getattr(active, s) != getattr(draft, s))
    old_sections = {x.id: x for x in active.sections}
    new_sections = {x.id: x for x in draft.sections}
    sections_changed = tuple(
        sid
        for sid, section in new_sections.items()
        if sid in old_sections
        and (section.title, section.maps_to) != (old_sections[sid].title, old_sections[sid].maps_to)
    )
    if "audience" in settings:
        warnings.append(f"the audience changes from {active.audience} to {draft.audience}")
    if draft.id != active.id:
        warnings.append(f"the draft is script {draft.id!r}, not {active.id!r}")
    summary = ChangeSummary(
        script_id=draft.id,
        added=tuple(qid for qid in new if qid not in old),
        removed=tuple(qid for qid in old if qid not in new),
        reworded=tuple(reworded),
        moved=tuple(_moves(active, draft, common)),
        answers_changed=tuple(answers_changed),
        logic_changed=tuple(logic),
        remapped=tuple(remapped),
        languages_added=tuple(x for x in draft.languages if x not in active.languages),
        languages_removed=tuple(x for x in active.languages if x not in draft.languages),
        scales_added=tuple(s for s in draft.scales if s not in active.scales),
        scales_removed=tuple(s for s in active.scales if s not in draft.scales),
        scales_changed=scales_changed,
        sections_added=tuple(x for x in new_sections if x not in old_sections),
        sections_removed=tuple(x for x in old_sections if x not in new_sections),
        sections_changed=sections_changed,
        settings_changed=settings,
        warnings=tuple(warnings),
    )
    if summary.unchanged and active != draft:
        # e.g. an emoji or a score of a choice option: small, but not nothing
        summary = replace(summary, settings_changed=("other details",))
    return summary


def similarity(old: str, new: str) -> float:
    return difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()


def _rewording(old: Question, new: Question) -> Reworded | None:
    texts = [(old.text, new.text), (old.hint or {}, new.hint or {})]
    old_labels = {str(o.value): o.label for o in old.options or []}
    for option in new.options or []:
        if str(option.value) in old_labels:
            texts.append((old_labels[str(option.value)], option.label))
    if old.follow_up is not None or new.follow_up is not None:
        before = old.follow_up.text if old.follow_up else {}
        after = new.follow_up.text if new.follow_up else {}
        texts.append((before, after))
    changed: list[str] = []
    for before, after in texts:
        for lang in [*before, *[x for x in after if x not in before]]:
            if before.get(lang) != after.get(lang) and lang not in changed:
                changed.append(lang)
    if not changed:
        return None
    shared = [x for x in ("en", *old.text) if x in old.text and x in new.text]
    ratio = None
    if shared and old.text[shared[0]] != new.text[shared[0]]:
        ratio = round(similarity(old.text[shared[0]], new.text[shared[0]]), 2)
    return Reworded(old.id, tuple(changed), ratio)


def _logic(q: Question) -> tuple[object, ...]:
    """What decides when and how a question is asked, besides its words."""
    follow = q.follow_up
    return (
        q.required,
        q.show_if,
        q.max_length,
        None if follow is None else (follow.show_if, follow.max_length),
        q.safeguard_if,
    )


def _answers(script: Script, q: Question) -> tuple[object, ...]:
    """What an answer to the question can be: its type and the values it takes."""
    if q.type == "scale" and q.scale in script.scales:
        return (q.type, _points(script, q.scale))
    if q.options is not None:
        return (q.type, tuple(str(o.value) for o in q.options))
    return (q.type,)


def _points(script: Script, scale: str | None) -> tuple[str, ...]:
    found = script.scales.get(scale or "")
    return tuple(str(o.value) for o in found.options) if found else ()


def _describe(script: Script, q: Question) -> str:
    if q.type == "scale":
        return f"scale {q.scale} {'/'.join(_points(script, q.scale))}"
    if q.options is not None:
        return f"{q.type} {'/'.join(str(o.value) for o in q.options)}"
    return q.type


def _items(script: Script, q: Question) -> dict[str, list[str]]:
    return {fw: sorted(items) for fw, items in script.mapping(q).items()}


def _moves(active: Script, draft: Script, common: list[str]) -> list[Moved]:
    """Questions that changed section, or left the order the others kept."""
    before = active.section_of()
    after = draft.section_of()
    old_order = [q.id for q in active.questions() if q.id in set(common)]
    matcher = difflib.SequenceMatcher(None, old_order, common, autojunk=False)
    kept = {common[b.b + i] for b in matcher.get_matching_blocks() for i in range(b.size)}
    return [
        Moved(qid, before[qid].id, after[qid].id)
        for qid in common
        if qid not in kept or before[qid].id != after[qid].id
    ]


def _listed(what: str, items: tuple[str, ...] | list[str], *, count: bool = True) -> list[str]:
    if not items:
        return []
    if count:
        noun = "question" if len(items) == 1 else "questions"
        return [f"{len(items)} {noun} {what}: {', '.join(items)}"]
    return [f"{what}: {', '.join(items)}"]


def _reworded(change: Reworded) -> str:
    return f"{change.question_id} ({', '.join(change.languages)})"


def _move(move: Moved) -> str:
    if move.from_section == move.to_section:
        return f"reordered in {move.to_section}"
    return f"{move.from_section} -> {move.to_section}"
