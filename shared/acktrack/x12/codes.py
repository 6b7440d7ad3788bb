"""X12 005010 code values the tracker reads, writes and explains to people."""

from __future__ import annotations

from collections.abc import Mapping

# TA1 interchange acknowledgment: TA104 and TA105.
TA1_STATUS: Mapping[str, str] = {
    "A": "interchange accepted with no errors",
    "E": "interchange accepted, errors noted",
    "R": "interchange rejected because of errors",
}
TA1_NOTE: Mapping[str, str] = {
    "000": "no error",
    "001": "interchange control number in header and trailer do not match",
    "002": "standard in control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}

# 999 IK501 / AK901 acknowledgment codes.
ACK_STATUS: Mapping[str, str] = {
    "A": "accepted",
    "E": "accepted but errors were noted",
    "M": "rejected, message authentication code (MAC) failed",
    "P": "partially accepted, at least one transaction set was rejected",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
}
ACCEPTED_STATUSES = frozenset({"A", "E"})
REJECTED_STATUSES = frozenset({"R", "M", "W", "X"})

# IK304: segment syntax error codes.
IK3_ERROR: Mapping[str, str] = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}

# IK403: data element syntax error codes.
IK4_ERROR: Mapping[str, str] = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}

# IK502-IK506: transaction set syntax error codes.
IK5_ERROR: Mapping[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service (authentication or encryption) not available",
    "11": "unknown security recipient",
    "12": "incorrect message length (encryption only)",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}

# AK905-AK909: functional group syntax error codes.
AK9_ERROR: Mapping[str, str] = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the functional group header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
    "10": "authentication key name unknown",
    "11": "encryption key name unknown",
    "12": "requested service (authentication or encryption) not available",
    "13": "unknown security recipient",
    "14": "unknown security originator",
    "15": "syntax error in decrypted text",
    "16": "security not supported",
    "17": "incorrect message length (encryption only)",
    "18": "message authentication code failed",
    "19": "functional group control number not unique within interchange",
    "23": "S3E security end segment missing for S3S security start segment",
    "24": "S3S security start segment missing for S3E security end segment",
    "25": "S4E security end segment missing for S4S security start segment",
    "26": "S4S security start segment missing for S4E security end segment",
}

# 834 INS03 maintenance type code (element 875).
MAINTENANCE_TYPE: Mapping[str, str] = {
    "001": "change",
    "021": "addition",
    "024": "cancellation or termination",
    "025": "reinstatement",
    "030": "audit or compare",
}

# 834 HD01 maintenance type code: X220A1 allows more codes here than in INS03.
COVERAGE_MAINTENANCE_TYPE: Mapping[str, str] = {
    **MAINTENANCE_TYPE,
    "002": "delete",
    "026": "correction",
    "032": "employee information not applicable",
}

# 834 INS04 maintenance reason code (element 1203), the common subset.
MAINTENANCE_REASON: Mapping[str, str] = {
    "01": "divorce",
    "02": "birth",
    "03": "death",
    "04": "retirement",
    "05": "adoption",
    "06": "strike",
    "07": "termination of benefits",
    "08": "termination of employment",
    "09": "COBRA",
    "10": "COBRA premium paid",
    "11": "surviving spouse",
    "14": "voluntary withdrawal",
    "15": "primary care provider change",
    "16": "quit",
    "17": "fired",
    "18": "suspended",
    "20": "active",
    "21": "disability",
    "22": "plan change",
    "25": "change in identifying data elements",
    "26": "declined coverage",
    "27": "pre-enrollment",
    "28": "initial enrollment",
    "29": "benefit selection",
    "31": "legal separation",
    "32": "marriage",
    "33": "personnel data",
    "37": "leave of absence with benefits",
    "38": "leave of absence without benefits",
    "39": "lay off with benefits",
    "40": "lay off without benefits",
    "41": "re-enrollment",
    "43": "change of location",
    "59": "non-payment",
    "AA": "dissatisfaction with office staff",
    "AB": "dissatisfaction with medical care/services rendered",
    "AC": "inconvenient office location",
    "AD": "dissatisfaction with office hours",
    "AE": "unable to schedule appointments in a timely manner",
    "AF": "dissatisfaction with physician's referral policy",
    "AG": "less respect and attention time given than to other patients",
    "AH": "patient moved to a new location",
    "AI": "no reason given",
    "AJ": "appointment times not met in a timely manner",
    "EC": "member benefit selection",
    "XN": "notification only",
    "XT": "transfer",
}

# 834 INS02 individual relationship code (element 1069).
RELATIONSHIP: Mapping[str, str] = {
    "01": "spouse",
    "03": "father or mother",
    "04": "grandfather or grandmother",
    "05": "grandson or granddaughter",
    "06": "uncle or aunt",
    "07": "nephew or niece",
    "08": "cousin",
    "09": "adopted child",
    "10": "foster child",
    "11": "son-in-law or daughter-in-law",
    "12": "brother-in-law or sister-in-law",
    "13": "mother-in-law or father-in-law",
    "14": "brother or sister",
    "15": "ward",
    "16": "stepparent",
    "17": "stepson or stepdaughter",
    "18": "self",
    "19": "child",
    "23": "sponsored dependent",
    "24": "dependent of a minor dependent",
    "25": "ex-spouse",
    "26": "guardian",
    "31": "court appointed guardian",
    "38": "collateral dependent",
    "53": "life partner",
    "60": "annuitant",
    "D2": "trustee",
    "G8": "other relationship",
    "G9": "other relative",
}

# 834 INS05 benefit status code (element 1216).
BENEFIT_STATUS: Mapping[str, str] = {
    "A": "active",
    "C": "COBRA",
    "S": "surviving insured",
    "T": "tax equity and fiscal responsibility act (TEFRA)",
}

# 834 HD03 insurance line code (element 1205).
INSURANCE_LINE: Mapping[str, str] = {
    "AG": "preventive care/wellness",
    "AH": "24 hour care",
    "AJ": "medicare risk",
    "AK": "mental health",
    "DCP": "dental capitation",
    "DEN": "dental",
    "EPO": "exclusive provider organization",
    "FAC": "facility",
    "HE": "hearing",
    "HLT": "health",
    "HMO": "health maintenance organization",
    "LTC": "long-term care",
    "LTD": "long-term disability",
    "MM": "major medical",
    "MOD": "mail order drug",
    "PDG": "prescription drug",
    "POS": "point of service",
    "PPO": "preferred provider organization",
    "PRA": "practitioners",
    "STD": "short-term disability",
    "UR": "utilization review",
    "VIS": "vision",
}

# 834 HD05 coverage level code (element 1207).
COVERAGE_LEVEL: Mapping[str, str] = {
    "CHD": "children only",
    "DEP": "dependents only",
    "E1D": "employee and one dependent",
    "E2D": "employee and two dependents",
    "E3D": "employee and three dependents",
    "E5D": "employee and one or more dependents",
    "E6D": "employee and two or more dependents",
    "E7D": "employee and three or more dependents",
    "E8D": "employee and four or more dependents",
    "E9D": "employee and five or more dependents",
    "ECH": "employee and children",
    "EMP": "employee only",
    "ESP": "employee and spouse",
    "FAM": "family",
    "IND": "individual",
    "SPC": "spouse and children",
    "SPO": "spouse only",
    "TWO": "two party",
}

# 834 BGN01 transaction set purpose and BGN08 action codes.
BGN_PURPOSE: Mapping[str, str] = {
    "00": "original",
    "15": "re-submission",
    "22": "information copy",
}
BGN_ACTION: Mapping[str, str] = {
    "2": "change (update)",
    "4": "verify",
    "RX": "replace",
}

# 824 OTI01 application acknowledgment codes (element 110): the verdict on a functional
# group (G), a batch (B), a transaction set (T) or an item (I).
APPLICATION_VERDICT: Mapping[str, str] = {
    "GA": "functional group accepted",
    "GC": "functional group accepted with data content change",
    "GE": "functional group accepted with errors",
    "GH": "functional group on hold",
    "GP": "functional group partially accepted",
    "GR": "functional group rejected",
    "BA": "batch accepted",
    "BC": "batch accepted with data content change",
    "BE": "batch accepted with errors",
    "BP": "batch partially accepted",
    "BR": "batch rejected",
    "TA": "transaction set accepted",
    "TC": "transaction set accepted with data content change",
    "TE": "transaction set accepted with errors",
    "TH": "transaction set on hold",
    "TP": "transaction set partially accepted",
    "TR": "transaction set rejected",
    "IA": "item accepted",
    "IC": "item accepted with data content change",
    "IE": "item accepted with errors",
    "IP": "item partially accepted",
    "IR": "item rejected",
}


# TED01 (element 647): the general codes an 824 uses; a companion guide may add its own.
APPLICATION_ERROR: Mapping[str, str] = {
    "006": "duplicate",
    "007": "missing data",
    "008": "out of range",
    "009": "invalid date",
    "010": "total out of balance",
    "011": "not matching",
    "012": "invalid combination",
    "024": "other unlisted reason",
    "ZZZ": "mutually defined (see the insurer's companion guide)",
}


def describe(table: Mapping[str, str], code: str | None) -> str:
    """Human text for ``code`` in ``table``; unknown codes are quoted, never dropped."""
    if not code:
        return ""
    text = table.get(code)
    return text if text is not None else f"unknown code {code!r}"


# Findings with no acknowledgment code of their own (scheme ACK): how a file was read.
LAYOUT_WHITESPACE = "layout_whitespace"
REPETITION_SEPARATOR = "repetition_separator"
VERDICTS_DISAGREE = "ik5_contradicts_ak9"
SEGMENT_TOO_LONG = "segment_too_long"
LOOP_TOO_LONG = "loop_too_long"
HEADER_TOO_LONG = "header_too_long"
TOO_MANY_STRUCTURES = "too_many_structures"
VALUE_TOO_LONG = "value_too_long"
ENVELOPE_DATE_IN_FUTURE = "envelope_date_in_future"
ENVELOPE_DATE_LONG_BEFORE_ARRIVAL = "envelope_date_long_before_arrival"
ADVICE_TRUNCATED = "advice_truncated"
READING: Mapping[str, str] = {
    ENVELOPE_DATE_IN_FUTURE: "the envelope date is after the file's arrival",
    ENVELOPE_DATE_LONG_BEFORE_ARRIVAL: "the envelope date is long before the file's arrival",
    SEGMENT_TOO_LONG: "a segment too long to be X12; the file is refused",
    LOOP_TOO_LONG: "a member (INS loop) too long to be X12; the file is refused",
    HEADER_TOO_LONG: "a transaction set header too long to be X12; the file is refused",
    TOO_MANY_STRUCTURES: "more envelopes, acknowledgment loops and findings than one file may "
    "hold; the file is refused",
    VALUE_TOO_LONG: "a value longer than X12 allows was shortened",
    VERDICTS_DISAGREE: "the IK5 verdicts contradict AK9",
    LAYOUT_WHITESPACE: "whitespace between segments read as layout",
    REPETITION_SEPARATOR: "ISA11 is not a usable repetition separator",
    ADVICE_TRUNCATED: "an 824 holds more OTI loops or TED errors than are kept; the rest "
    "were counted",
}
