"""Checks on an uploaded workbook's zip container, made before any spreadsheet parser sees it.

An .xlsx file is a zip of XML files. A hostile one can be a zip bomb (a few
kilobytes that inflate to gigabytes), lie about its sizes in the zip headers,
carry XML entity definitions that expand, hide macros, or not be a zip at all.
Every member is inflated here once, counting bytes against hard limits, so
what the parser later reads is known to be small and plain.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from dialogs import limits
from dialogs.source import ScriptError

MAX_MEMBERS = 100
MAX_MEMBER_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024
# XML a spreadsheet never needs and an attacker would: DTDs declare expanding entities.
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_OVERLAP = max(len(f) for f in _FORBIDDEN) - 1
_NOT_A_WORKBOOK = (
    "this is not an .xlsx workbook (old .xls files and password-protected workbooks "
    "cannot be read; save it as an Excel workbook, .xlsx)"
)


def check_workbook_bytes(data: bytes, file: str) -> list[ScriptError]:
    """Refuse what is too big, not a zip, a zip bomb, or not plain spreadsheet XML."""
    if len(data) > limits.MAX_FILE_BYTES:
        msg = f"the file has {len(data)} bytes; the limit is {limits.MAX_FILE_BYTES}"
        return [_error(file, msg, "too_big")]
    if not data.startswith(b"PK\x03\x04"):
        return [_error(file, _NOT_A_WORKBOOK, "not_xlsx")]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return [_error(file, _NOT_A_WORKBOOK, "not_xlsx")]
    with archive:
        members = archive.infolist()
        problem = _check_directory(members)
        if problem is not None:
            return [_error(file, problem[0], problem[1])]
        total = 0
        for member in members:
            try:
                size, problem = _inflate(archive, member, MAX_TOTAL_BYTES - total)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError):
                msg = f"the workbook is damaged: {member.filename} cannot be unpacked"
                return [_error(file, msg, "not_xlsx")]
            if problem is not None:
                return [_error(file, problem[0], problem[1])]
            total += size
    return []


def _check_directory(members: list[zipfile.ZipInfo]) -> tuple[str, str] | None:
    """What the zip's own directory gives away, before anything is inflated."""
    if len(members) > MAX_MEMBERS:
        return f"the workbook has {len(members)} parts; the limit is {MAX_MEMBERS}", "zip_bomb"
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return _NOT_A_WORKBOOK, "not_xlsx"
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return "workbooks with macros are refused; save it as a plain .xlsx workbook", "macro"
    declared = 0
    for member in members:
        if member.flag_bits & 0x1:
            return "the workbook is encrypted; save it without a password", "encrypted"
        if member.file_size > MAX_MEMBER_BYTES:
            return _bomb(member.filename, member.file_size), "zip_bomb"
        declared += member.file_size
    if declared > MAX_TOTAL_BYTES:
        return (
            f"the workbook unpacks to {declared} bytes; the limit is {MAX_TOTAL_BYTES}",
            "zip_bomb",
        )
    return None


def _inflate(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int
) -> tuple[int, tuple[str, str] | None]:
    """Inflate one member, stopping as soon as it exceeds what it declared or the budget."""
    limit = min(member.file_size, MAX_MEMBER_BYTES, budget)
    size = 0
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                if size > member.file_size:
                    msg = f"the workbook part {member.filename} is larger than its zip header says"
                elif size > MAX_MEMBER_BYTES:
                    msg = _bomb(member.filename, size)
                else:
                    msg = f"the workbook unpacks to more than {MAX_TOTAL_BYTES} bytes in all"
                return size, (msg, "zip_bomb")
            window = tail + chunk
            if any(f in window for f in _FORBIDDEN):
                msg = f"the workbook part {member.filename} declares XML entities; refused"
                return size, (msg, "xml_entities")
            tail = window[-_OVERLAP:]
    return size, None


def _bomb(name: str, size: int) -> str:
    limit = MAX_MEMBER_BYTES
    return f"the workbook part {name} unpacks to {size} bytes or more; the limit is {limit}"


def _error(file: str, message: str, code: str) -> ScriptError:
    return ScriptError(file, None, "", message, code)
