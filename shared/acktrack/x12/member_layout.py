"""How an 834 member is cut into its loops: needles and regexes for one delimiter set."""

from __future__ import annotations

import re
from functools import lru_cache

from acktrack.x12.delimiters import Delimiters


class MemberPatterns:
    """Needles and regexes for one delimiter set (compiled once per set of delimiters)."""

    def __init__(self, delimiters: Delimiters) -> None:
        term, sep = delimiters.segment, delimiters.element
        self.term, self.sep = term, sep
        t, s = re.escape(term), re.escape(sep)
        self.ins = term + "INS" + sep
        self.ls = term + "LS" + sep
        self.ref_split = term + "REF" + sep
        self.dtp_split = term + "DTP" + sep
        self.tag_hd = "HD" + sep
        self.tag_lx = "LX" + sep
        self.category = re.compile(
            f"{t}N1{s}75{s}([^{s}{t}]*+)[^{t}]*+{t}REF{s}[^{s}{t}]*+{s}([^{s}{t}]*+)"
        )
        self.canonical = _canonical_member(t, s)


def _canonical_member(t: str, s: str) -> re.Pattern[str]:
    """One anchored regex that cuts a member laid out as X220 orders it into loop spans.

    A span per loop (not a group per element: Python's regex engine charges per group)
    and small splits in Python read a member several times faster than a loop over its
    segments. Members it does not match in full (extra 2100 loops, several HD loops,
    2310/2320...) go to the exact segment loop instead.
    """
    x = f"[^{t}]*+"  # the rest of a segment
    return re.compile(
        f"([^{t}]*+)"  # 1: INS elements
        f"((?:{t}REF{s}{x})*+)"  # 2: loop 2000 REF segments
        f"((?:{t}DTP{s}{x})*+)"  # 3: loop 2000 DTP segments
        f"{t}NM1{s}(?:IL|74){s}({x})"  # 4: NM102 onwards
        f"(?:{t}(?:PER|N3|N4){s}{x})*+"
        f"(?:{t}DMG{s}({x}))?"  # 5: DMG01 onwards
        f"(?:{t}(?:EC|ICM|AMT|HLH|LUI){s}{x})*+"
        f"(?:{t}HD{s}({x})((?:{t}(?:DTP|AMT|REF|IDC){s}{x})*+))?"  # 6: HD01 on, 7: its children
        f"(?:{t}LS{s}(.*))?\\Z",  # 8: the 2700/2750 reporting categories
        re.DOTALL,
    )


@lru_cache(maxsize=16)
def member_patterns(delimiters: Delimiters) -> MemberPatterns:
    """The patterns for ``delimiters``, shared by every set that uses them."""
    return MemberPatterns(delimiters)
