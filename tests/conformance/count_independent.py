#!/usr/bin/env python3
"""Independent X12 envelope counter for the conformance corpus.

Stdlib only; deliberately shares no code with acktrack.  It reads the
delimiters from each ISA header, splits segments on the segment terminator,
treats whitespace between a terminator and the next segment id as layout, and
counts:

* interchanges (ISA), groups (GS), transaction sets by ST01,
* members (INS segments inside 834 sets),
* TA1 segments (anywhere in an interchange).

It also reports structural problems (unclosed/unopened envelopes, control
number and count mismatches) so a human can judge the "valid" flag.

Usage:
    python count_independent.py FILE [FILE ...]      # JSON report per file
    python count_independent.py --manifest manifest.json   # compare with "expect"
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

LAYOUT_WS = " \t\r\n"


class NotX12(Exception):
    pass


def decode(raw: bytes) -> tuple[str, list[str]]:
    traits = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        traits.append("bom")
    try:
        return raw.decode("utf-8"), traits
    except UnicodeDecodeError:
        traits.append("latin-1")
        return raw.decode("latin-1"), traits


def read_isa(text: str, p: int) -> tuple[str, str, str, list[str]]:
    """Return (element_sep, segment_terminator, text, notes) for the ISA at p.

    ``text`` may come back modified (line breaks removed) when the ISA header
    itself is wrapped across lines (80-column wrapped files).
    """
    notes: list[str] = []
    sep = text[p + 3]
    head = text[p : p + 106]
    # Fixed-width ISA: 16 separators in the first 104 chars, terminator at 105.
    if len(head) == 106 and head.count(sep, 0, 104) == 16 and head[103] == sep:
        return sep, head[105], text, notes
    # Wrapped header (line breaks inside the ISA): unwrap the rest of the file.
    if "\n" in head[:105] or "\r" in head[:105]:
        first_nl = min(i for i in (head.find("\n"), head.find("\r")) if i >= 0)
        if head.count(sep, 0, first_nl) < 15:
            rest = text[p:].replace("\r", "").replace("\n", "")
            text = text[:p] + rest
            notes.append("unwrapped: line breaks removed inside segments")
            head = text[p : p + 106]
            if len(head) == 106 and head.count(sep, 0, 104) == 16 and head[103] == sep:
                return sep, head[105], text, notes
    # Variable-width ISA: walk 16 separators, ISA16 is one char, then terminator.
    i, seen = p + 3, 0
    while i < len(text) and seen < 16:
        if text[i] == sep:
            seen += 1
        elif text[i] in "\r\n" and seen < 16:
            break
        i += 1
    if seen == 16 and i + 1 < len(text):
        notes.append("isa-not-fixed-width")
        return sep, text[i + 1], text, notes
    if seen == 15:
        # ISA16 missing: the char right after ISA15's value ends the segment.
        j = text.index(sep, p + 3)
        for _ in range(14):
            j = text.index(sep, j + 1)
        k = j + 1
        while k < len(text) and text[k].isalnum():
            k += 1
        notes.append("isa16-missing")
        return sep, text[k], text, notes
    raise NotX12("cannot read ISA header delimiters")


def count_text(text: str) -> dict:
    stripped = text.lstrip(LAYOUT_WS)
    problems: list[str] = []
    notes: list[str] = []
    if stripped.startswith("ISA"):
        pos = len(text) - len(stripped)
    else:
        # Tolerate (but report) prose before an ISA that starts a line.
        at = text.find("\nISA")
        if at < 0 or len(text) <= at + 4 or text[at + 4].isalnum():
            raise NotX12("does not start with ISA")
        pos = at + 1
        problems.append(f"non-X12 text before the first ISA ({pos} chars)")
        notes.append("leading-text")
    res = {"interchanges": 0, "groups": 0, "sets": Counter(), "members": 0, "ta1s": 0}
    terminators = set()
    isa = gs = st = None  # open envelopes: dicts
    while True:
        while pos < len(text) and text[pos] in LAYOUT_WS:
            pos += 1
        if pos >= len(text):
            break
        if text.startswith("ISA", pos) and len(text) > pos + 3:
            sep, term, text, n = read_isa(text, pos)
            notes.extend(x for x in n if x not in notes)
            terminators.add(term)
        end = text.find(term, pos)
        if end < 0:
            seg = text[pos:]
            pos = len(text)
            if seg.strip(LAYOUT_WS):
                problems.append(f"last segment has no terminator: {seg[:20]!r}")
        else:
            seg = text[pos:end]
            pos = end + len(term)
        els = seg.split(sep)
        sid = els[0].strip(LAYOUT_WS)
        if not sid:
            continue
        if isa is None and sid != "ISA":
            problems.append(f"segment {sid} outside any interchange")
            continue
        if st is not None:
            st["n"] += 1
        if sid == "ISA":
            if isa is not None:
                problems.append("ISA {} opened before IEA of {}".format(els[13:14], isa["ctl"]))
            res["interchanges"] += 1
            isa = {
                "ctl": els[13].strip() if len(els) > 13 else None,
                "groups": 0,
                "ver": els[12] if len(els) > 12 else "",
            }
            isa11_u = len(els) > 12 and els[12] == "00501" and els[11] == "U"
            if isa11_u and "isa11-U-00501" not in notes:
                notes.append("isa11-U-00501")
        elif sid == "IEA":
            if gs is not None:
                problems.append("IEA while group {} open".format(gs["ctl"]))
                gs = None
            if len(els) > 2 and isa["ctl"] is not None and els[2].strip() != isa["ctl"]:
                problems.append("IEA02 {} != ISA13 {}".format(els[2], isa["ctl"]))
            if len(els) > 1 and els[1].strip().isdigit() and int(els[1]) != isa["groups"]:
                problems.append(f"IEA01 {els[1]} != {isa['groups']} groups")
            isa = None
        elif sid == "GS":
            if gs is not None:
                problems.append("GS opened before GE of {}".format(gs["ctl"]))
            res["groups"] += 1
            isa["groups"] += 1
            gs = {"ctl": els[6].strip() if len(els) > 6 else None, "sets": 0}
            if len(els) > 4 and len(els[4]) == 6 and "gs04-6-digits" not in notes:
                notes.append("gs04-6-digits")
        elif sid == "GE":
            if gs is None:
                problems.append("GE without GS")
                continue
            if st is not None:
                problems.append("GE while set {} open".format(st["ctl"]))
                st = None
            if len(els) > 2 and els[2].strip() != gs["ctl"]:
                problems.append("GE02 {} != GS06 {}".format(els[2], gs["ctl"]))
            if len(els) > 1 and els[1].strip().isdigit() and int(els[1]) != gs["sets"]:
                problems.append(f"GE01 {els[1]} != {gs['sets']} sets")
            gs = None
        elif sid == "ST":
            if gs is None:
                problems.append("ST outside a group")
            else:
                gs["sets"] += 1
            if st is not None:
                problems.append("ST before SE of {}".format(st["ctl"]))
            code = els[1].strip() if len(els) > 1 else ""
            res["sets"][code] += 1
            st = {"ctl": els[2].strip() if len(els) > 2 else None, "n": 1, "code": code}
        elif sid == "SE":
            if st is None:
                problems.append("SE without ST")
                continue
            if len(els) > 2 and els[2].strip() != st["ctl"]:
                problems.append("SE02 {} != ST02 {}".format(els[2], st["ctl"]))
            if len(els) > 1 and els[1].strip().isdigit() and int(els[1]) != st["n"]:
                problems.append(f"SE01 {els[1]} != {st['n']} segments")
            st = None
        elif sid == "TA1":
            res["ta1s"] += 1
            if gs is not None:
                problems.append("TA1 inside a functional group")
        elif sid == "INS":
            if st is not None and st["code"] == "834":
                res["members"] += 1
        elif sid in ("ISB", "ISE") and "isb" not in notes:
            notes.append("isb")
    if st is not None:
        problems.append("set {} not closed by SE".format(st["ctl"]))
    if gs is not None:
        problems.append("group {} not closed by GE".format(gs["ctl"]))
    if isa is not None:
        problems.append("interchange {} not closed by IEA".format(isa["ctl"]))
    res["sets"] = dict(sorted(res["sets"].items()))
    return {"expect": res, "problems": problems, "notes": notes, "terminators": sorted(terminators)}


def count_file(path: str | Path) -> dict:
    raw = Path(path).read_bytes()
    text, traits = decode(raw)
    try:
        out = count_text(text)
    except NotX12 as exc:
        return {"x12": False, "error": str(exc), "notes": traits}
    out["x12"] = True
    out["notes"] = traits + out["notes"]
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--manifest"]:
        mpath = Path(argv[1])
        base = mpath.parent
        bad = 0
        for entry in json.loads(mpath.read_text()):
            got = count_file(base / entry["file"])
            want = entry["expect"]
            have = got["expect"] if got.get("x12") else None
            if have != want:
                bad += 1
                print("MISMATCH", entry["file"], "manifest:", want, "counter:", have)
        print(f"{bad} mismatches")
        return 1 if bad else 0
    for f in argv:
        print(json.dumps({"file": f, **count_file(f)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
