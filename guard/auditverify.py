"""`audit verify`: walk the audit chain (guard.auditchain) from the oldest file kept to the last line, and report
the first break by file and line number, then compare the end with the last link the state store remembers.

Lines written before the chain existed (no tag, at the very start) are counted, not judged: nothing vouches for
them. A file deleted by rotation's retention is not a break: the oldest file kept must merely begin where a file
begins (its first line names the tag it follows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from guard.auditchain import Link, Sealed, chain_key, tag, unseal


@dataclass(frozen=True)
class Line:
    file: Path
    number: int
    sealed: Sealed | None


@dataclass
class Report:
    lines: int = 0
    files: int = 0
    unchained: int = 0
    last: Link | None = None
    breaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def read_lines(files: list[Path]) -> list[Line]:
    lines: list[Line] = []
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        texts = data.split(b"\n")
        if texts[-1] == b"":  # the newline that ends the last line (or an empty file)
            texts.pop()
        lines.extend(Line(path, number, unseal(text)) for number, text in enumerate(texts, 1))
    return lines


def _where(line: Line) -> str:
    return f"{line.file.name} line {line.number}"


def _seq_break(lines: list[Line], index: int, expected: int) -> str:
    line = lines[index]
    seq = line.sealed.seq if line.sealed else None
    if seq is None:
        return f"{_where(line)}: no sequence number (the line was changed)"
    later = [other.sealed.seq for other in lines[index + 1 : index + 4] if other.sealed]
    if seq > expected and expected in later:
        return f"{_where(line)}: out of order (seq {seq} comes before seq {expected}): lines were swapped or moved"
    if seq > expected:
        missing = seq - expected
        return f"{_where(line)}: {missing} line(s) missing before it (seq {expected - 1} is followed by {seq})"
    return f"{_where(line)}: out of order (seq {seq} after seq {expected - 1}): lines were swapped, moved or repeated"


def verify(files: list[Path], secret: bytes, head: Link | None) -> Report:
    """Check the chain through `files` (oldest first) and its end against `head`; the first break ends the walk."""
    key = chain_key(secret)
    lines = read_lines(files)
    report = Report(lines=len(lines), files=len({line.file for line in lines}))
    previous: Link | None = None
    for index, line in enumerate(lines):
        sealed = line.sealed
        if sealed is None or sealed.seq is None:
            if previous is None and (sealed is None and index == report.unchained):
                report.unchained += 1
                continue
            report.breaks.append(
                f"{_where(line)}: no valid tag (the line was changed, or added without the key)"
                if sealed is None
                else f"{_where(line)}: no sequence number (the line was changed)"
            )
            return report
        first_in_file = line.number == 1 or (previous is None and index == report.unchained)
        if previous is None:
            if sealed.prev is None:
                report.breaks.append(
                    f"{_where(line)}: the oldest line kept does not start a file: lines before it were removed"
                )
                return report
            previous = Link(sealed.seq - 1, sealed.prev)
        elif sealed.seq != previous.seq + 1:
            report.breaks.append(_seq_break(lines, index, previous.seq + 1))
            return report
        elif first_in_file and sealed.prev != previous.tag:
            report.breaks.append(
                f"{_where(line)}: this file does not continue the file before it (lines were removed at a file "
                "boundary, or a file was replaced)"
            )
            return report
        elif not first_in_file and sealed.prev is not None:
            report.breaks.append(f"{_where(line)}: a file's first line in the middle of a file (lines were moved)")
            return report
        if tag(key, previous.tag, sealed.body) != sealed.tag:
            report.breaks.append(
                f"{_where(line)}: the tag does not match: the line was changed, or written without the key"
            )
            return report
        previous = Link(sealed.seq, sealed.tag)
    report.last = previous
    _check_end(report, lines, head)
    return report


def _check_end(report: Report, lines: list[Line], head: Link | None) -> None:
    last = report.last
    end = f"{_where(lines[-1])}" if lines else "the log (empty)"
    if head is None:
        if last is not None:
            report.notes.append(
                "the state store remembers no line of this log (a new or reset state.db): a cut tail cannot be seen"
            )
        return
    if last is None or head.seq > last.seq:
        seen = last.seq if last else 0
        report.breaks.append(
            f"{end}: the log ends at seq {seen}, but the state store remembers seq {head.seq}: "
            f"{head.seq - seen} line(s) were cut from the end (the next would be line "
            f"{lines[-1].number + 1 if lines else 1} of {lines[-1].file.name if lines else 'audit.jsonl'})"
        )
    elif head.seq == last.seq and head.tag != last.tag:
        report.breaks.append(f"{end}: the last line is not the one the state store remembers (the tail was replaced)")
    elif head.seq < last.seq:
        report.notes.append(
            f"the state store last remembered seq {head.seq}; the {last.seq - head.seq} line(s) after it verify but "
            "were written while the store could not record them"
        )
