"""The daily report email, read back from moto's SES; the archive; boundaries; PHI canaries."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from acktrack.aws import clients
from acktrack.report.cells import safe_cell
from acktrack.report.detail_csv import detail_csv
from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse
from tests.integration.conftest import SENT, Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def parts(message: Any) -> dict[str, Any]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() != "multipart":
            found[part.get_content_type()] = part
    return found


def csv_rows(message: Any) -> list[dict[str, str]]:
    attachment = parts(message)["text/csv"]
    text = attachment.get_payload(decode=True).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_email_has_text_html_and_the_csv_detail(day: Day) -> None:
    data, generated = day.send(
        "a.834", members=8, sets_per_group=2, seed=31, errors=["bad_ins03:2"]
    )
    day.answer("a.999", data)
    day.send(
        "b.834", members=5, seed=32, interchange_control=1002, first_group_control=2,
        subscriber_id_start=200000001,
    )  # fmt: skip
    report = day.report(AS_OF)
    assert report["data_quality"] == []
    (message,) = day.emails()
    assert report["summary"]["unconfirmed"] == generated.sets[0].members + 5  # transactions
    assert message["Subject"] == (
        f"acktrack 2024-01-20: {report['summary']['people_unconfirmed']} people not confirmed by "
        "their insurer (13 member transactions sent)"
    )
    assert (
        message["From"] == "acktrack@example.com" and message["To"] == "enrollment-ops@example.com"
    )
    found = parts(message)
    assert set(found) == {"text/plain", "text/html", "text/csv"}
    text = found["text/plain"].get_content()
    assert "Member transactions tracked: 13" in text and "Rejections (1 transaction set)" in text
    html = found["text/html"].get_content()
    assert (
        "<script" not in html.lower() and "<img" not in html.lower() and "http" not in html.lower()
    )
    assert 'style="' in html and "background:#2f9e44" in html  # the per-insurer bar is styled cells
    rows = csv_rows(message)
    assert len(rows) == len(report["unconfirmed"]) == report["summary"]["unconfirmed"]
    assert list(rows[0]) == [
        "insurer", "insurer_name", "status", "reason", "subscriber_id", "member_id", "maintenance_type",
        "maintenance_meaning", "interchange_control", "group_control", "transaction_control", "member_in_set",
        "sent_at", "age_hours", "insurance_line", "attempts", "first_sent_at",
    ]  # fmt: skip
    assert {row["status"] for row in rows} == {"rejected", "overdue"}
    assert any("IK4 7: invalid code value in INS03" in row["reason"] for row in rows)


def test_the_report_is_archived_as_json_csv_and_html_under_a_dated_key(day: Day) -> None:
    day.send("a.834", members=3, seed=33)
    day.report(AS_OF)
    s3 = day.stack.client("s3")
    bucket = day.stack.bucket("Reports")
    listed = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]
    )
    assert listed == [
        # The window's operator resolutions, every day (an auditor finds a file even when none).
        "reports/2024/01/20/resolutions-2024-01-20T070000Z.csv",
        *(
            f"reports/2024/01/20/unconfirmed-2024-01-20T070000Z.{suffix}"
            for suffix in ("csv", "html", "json")
        ),
        "reports/sent/2024-01-20.json",  # the date's email went out: a retry sends nothing twice
    ]
    archived = json.loads(s3.get_object(Bucket=bucket, Key=listed[3])["Body"].read())
    assert archived["summary"]["pending_overdue"] == 3
    empty = s3.get_object(Bucket=bucket, Key=listed[0])["Body"].read().decode("utf-8-sig")
    assert empty == "at,insurer,subscriber_id,member_id,reason,by,caller,closed\r\n"


def test_all_confirmed_is_still_sent(day: Day) -> None:
    data, _ = day.send("a.834", members=4, seed=34)
    day.answer("a.999", data)
    day.report(AS_OF)
    (message,) = day.emails()
    assert message["Subject"] == "acktrack 2024-01-20: all 4 member transactions confirmed"
    assert csv_rows(message) == []
    assert "All 4 member transactions are confirmed." in parts(message)["text/html"].get_content()


def test_an_empty_day_is_still_sent(day: Day) -> None:
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 0
    (message,) = day.emails()
    assert message["Subject"] == "acktrack 2024-01-20: no member transactions tracked yet"


@pytest.mark.parametrize(("hours", "status"), [(47.99, "pending_within_sla"), (48.0, "pending_within_sla"),
                                              (48.1, "pending_overdue")])  # fmt: skip
def test_the_sla_edge(day: Day, hours: float, status: str) -> None:
    day.send("a.834", members=2, seed=35)
    summary = day.report(SENT.replace(tzinfo=UTC) + timedelta(hours=hours))["summary"]
    assert summary[status] == 2


def test_unicode_insurer_names_survive_every_part(day: Day) -> None:
    name = "SALUD ÑANDÚ MUTUA 医疗 <&>"
    day.send("a.834", members=2, seed=36, receiver_id="ÑANDU01", payer_name=name)
    report = day.report(AS_OF)
    assert report["by_partner"][0]["payer_name"] == name
    (message,) = day.emails()
    found = parts(message)
    assert name in found["text/plain"].get_content()
    assert "SALUD ÑANDÚ MUTUA 医疗 &lt;&amp;&gt;" in found["text/html"].get_content()
    assert csv_rows(message)[0]["insurer_name"] == name


@pytest.mark.parametrize(
    "parameters", [{"ReportMaxAttachmentBytes": 20_000, "EmailDetailRows": 50}]
)  # a CSV over 20 KB; 150 people and 50 rows in the email stand for 1,500 and 500
def test_a_very_large_backlog_is_linked_instead_of_attached(
    day: Day, parameters: dict[str, Any]
) -> None:
    day.send("big.834", members=150, seed=37)
    report = day.report(AS_OF)
    assert len(report["unconfirmed"]) == 150
    (message,) = day.emails()
    found = parts(message)
    assert "text/csv" not in found
    html = found["text/html"].get_content()
    assert "too large to attach" in html and "unconfirmed-2024-01-20T070000Z.csv" in html
    # No bearer link that dies with the function's credentials: the console, signed in.
    bucket = day.stack.bucket("Reports")
    text = found["text/plain"].get_content()
    for body in (html, text):
        assert f"s3://{bucket}/reports/2024/01/20/unconfirmed-2024-01-20T070000Z.csv" in body
        assert f"https://console.aws.amazon.com/s3/object/{bucket}?region=" in body
        assert "X-Amz-" not in body and "Signature" not in body
    assert "… and 100 more in the CSV" in html
    shown = [row for row in report["unconfirmed"] if row["member_id"] in html]
    assert len(shown) == 50  # the email holds EmailDetailRows rows; the CSV holds them all
    csv_bytes = (
        day.stack.client("s3")
        .get_object(
            Bucket=day.stack.bucket("Reports"),
            Key="reports/2024/01/20/unconfirmed-2024-01-20T070000Z.csv",
        )["Body"]
        .read()
    )
    assert csv_bytes.decode("utf-8-sig").count("\r\n") == 151


@pytest.mark.parametrize(
    "value", [" =1+1", "\x0b=cmd|' /C calc'!A0", "\u2028@SUM(A1)", "  -2+3", "\u00a0+1"]
)
def test_formulas_behind_whitespace_are_neutralised_too(value: str) -> None:
    assert safe_cell(value) == "'" + value


def test_spreadsheet_formulas_are_neutralised() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "ok", 48.5, None)] == [
        "'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tx", "ok", 48.5, "",
    ]  # fmt: skip
    row = {
        "partner": '=HYPERLINK("http://x")',
        "subscriber_id": "@SUM(1)",
        "age_hours": -3.0,
        "reason": "-",
    }
    text = detail_csv({"unconfirmed": [row]}).decode("utf-8-sig")
    (parsed,) = list(csv.DictReader(io.StringIO(text)))
    assert parsed["insurer"].startswith("'=") and parsed["subscriber_id"] == "'@SUM(1)"
    assert parsed["age_hours"] == "-3.0" and parsed["reason"] == "'-"


def _canaries(generated: Any) -> set[str]:
    found: set[str] = set()
    for _, member in generated.all_members():
        person = member.person
        born = person.birth_date
        found |= {
            person.last_name,
            person.ssn,
            born,
            f"{born[:4]}-{born[4:6]}-{born[6:]}",
            person.street,
        }
    return {value for value in found if len(value) >= 6}


def test_no_phi_in_any_email_part_archive_table_item_or_log_line(day: Day) -> None:
    data, generated = day.send(
        "a.834", members=40, sets_per_group=2, seed=38, errors=["bad_ins03:3", "bad_dtp_date:7"]
    )
    day.answer("a.999", data)
    _, other = day.send(
        "b.834", members=20, seed=39, interchange_control=1002, first_group_control=2
    )
    day.answer_999(
        "x.999", insurer="HEALTHPLAN01", groups=[GroupResponse("9", [SetResponse("0001", "R")])]
    )
    day.drop("outbound", "truncated.834", data[: len(data) // 2])
    day.report(AS_OF)
    canaries = _canaries(generated) | _canaries(other)
    assert len(canaries) > 100
    places: dict[str, str] = {}
    for number, message in enumerate(day.emails()):
        for kind, part in parts(message).items():
            places[f"email {number} {kind}"] = part.get_payload(decode=True).decode(
                "utf-8", "replace"
            )
        places[f"email {number} headers"] = str(message.items())
    s3 = day.stack.client("s3")
    reports = day.stack.bucket("Reports")
    for item in s3.list_objects_v2(Bucket=reports).get("Contents", []):
        places[item["Key"]] = (
            s3.get_object(Bucket=reports, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
        )
    places["table"] = json.dumps(day.table(), default=repr)
    places["logs"] = day.stack.logs.getvalue()
    assert all(places.values())
    leaks = [
        (where, canary) for where, text in places.items() for canary in canaries if canary in text
    ]
    assert leaks == []


def test_a_report_date_is_emailed_once_whatever_the_retries(day: Day) -> None:
    day.send("a.834", members=2, seed=38)
    first = day.stack.run_schedule(AS_OF)
    again = day.stack.run_schedule(AS_OF + timedelta(minutes=5))  # the scheduler's retry
    assert first.ok and again.ok
    assert first.result["email"]["message_id"]
    assert again.result["email"] == {
        "already_sent": "2024-01-20", "message_id": first.result["email"]["message_id"],
    }  # fmt: skip
    assert len(day.emails()) == 1
    assert again.result["archive"]["json"] != first.result["archive"]["json"]  # still archived
    assert day.stack.run_schedule(AS_OF + timedelta(days=1)).ok  # the next date is its own
    assert len(day.emails()) == 2


class SesFault:
    """The handler's own SES client fails one send: refused before it leaves, or applied
    with its answer lost (botocore hooks; none of acktrack's code is replaced)."""

    def __init__(self, kind: str, times: int = 1) -> None:
        self.kind, self.left = kind, times

    def __enter__(self) -> SesFault:
        events = clients.ses().meta.events
        events.register("before-call.sesv2.SendEmail", self._before)
        events.register("after-call.sesv2.SendEmail", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        events = clients.ses().meta.events
        events.unregister("before-call.sesv2.SendEmail", self._before)
        events.unregister("after-call.sesv2.SendEmail", self._after)

    def _before(self, **_: Any) -> None:
        if self.left and self.kind in ("throttled", "refused", "internal"):
            self.left -= 1
            code = {"throttled": "TooManyRequestsException", "refused": "MessageRejected",
                    "internal": "InternalFailure"}[self.kind]  # fmt: skip
            status = 500 if self.kind == "internal" else 400
            raise ClientError({"Error": {"Code": code, "Message": "injected"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")  # fmt: skip

    def _after(self, **_: Any) -> None:
        if self.left and self.kind == "lost":
            self.left -= 1
            raise ReadTimeoutError(endpoint_url="injected: sent, answer lost")


def _deliveries(day: Day) -> int:
    """The report's last task run so far (the workflow retries it when it fails)."""
    return sum(1 for invocation in day.stack.invocations if invocation.function == "ReportFunction")


@pytest.mark.parametrize("kind", ["throttled", "refused", "lost"])
def test_a_report_date_is_emailed_exactly_once_when_ses_fails_or_its_answer_is_lost(
    day: Day, kind: str
) -> None:
    day.send("a.834", members=2, seed=38)
    with SesFault(kind, times=2 if kind == "throttled" else 1):
        first = day.stack.run_schedule(AS_OF)  # with the workflow's retry of a failed task
    assert first.ok, first.error
    assert _deliveries(day) == (1 if kind == "throttled" else 2)  # throttling is retried in the run
    assert len(day.emails()) == 1  # never none, never twice
    retry = day.stack.run_schedule(AS_OF + timedelta(minutes=5))  # the scheduler's retry
    assert retry.ok and len(day.emails()) == 1
    if kind == "lost":
        # The email went out but nobody heard: not sent again, and said loudly.
        assert first.result["email"]["uncertain"] == "2024-01-20"
        assert retry.result["email"]["uncertain"] == "2024-01-20"
        assert "may not have gone out" in day.stack.logs.getvalue()
        assert day.metrics()["ReportEmailUncertain"] >= 1  # an alarm watches it
    else:
        assert first.result["email"]["message_id"]
        assert retry.result["email"]["already_sent"] == "2024-01-20"


def test_an_ses_server_error_may_have_sent_the_email_so_it_is_not_sent_again(day: Day) -> None:
    """A 5xx from SES is like a lost answer: the message may have been accepted."""
    day.send("a.834", members=2, seed=38)
    with SesFault("internal"):
        run = day.stack.run_schedule(AS_OF)
    assert run.ok and _deliveries(day) == 2
    assert run.result["email"]["uncertain"] == "2024-01-20"
    assert day.emails() == []  # never twice; the log says to check, the marker how to resend
    assert "may not have gone out" in day.stack.logs.getvalue()


def test_two_runs_for_one_date_at_once_send_one_email(day: Day) -> None:
    """The marker is claimed with a conditional write: the run that loses the claim sends nothing."""
    day.send("a.834", members=2, seed=38)
    s3, reports = day.stack.client("s3"), day.stack.bucket("Reports")
    competed: list[str] = []

    def compete(params: dict[str, Any], **_: Any) -> None:
        if (
            params.get("Key") == "reports/sent/2024-01-20.json"
            and params.get("IfNoneMatch")
            and not competed
        ):
            competed.append("claimed")  # the other run claims the date between read and claim
            s3.put_object(Bucket=reports, Key=params["Key"], Body=b'{"state": "sending"}')

    events = clients.s3().meta.events
    events.register("before-parameter-build.s3.PutObject", compete)
    try:
        run = day.stack.run_schedule(AS_OF)
    finally:
        events.unregister("before-parameter-build.s3.PutObject", compete)
    assert competed and run.ok
    assert run.result["email"]["uncertain"] == "2024-01-20"
    assert day.emails() == []  # this run sent nothing: the other one owns the date
