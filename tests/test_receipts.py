"""Read receipts and delivery receipts: on the case they report on, never an answer or bounce."""

from __future__ import annotations

from crm.followups.models import OPEN
from inbox.pipeline import Pipeline
from tests.support.chase_cases import DWP, constituent_writes, feed, follow_up_of, refer, timeline
from tests.support.smtp_fixtures import office_settings

BOUNDARY = "report-boundary-1"


def report(report_type: str, second_part: str, subject: str) -> bytes:
    """A multipart/report as Exchange and Postfix send them (RFC 6522)."""
    return (
        f"From: Microsoft Outlook <postmaster@dwp.gov.uk>\r\n"
        f"To: casework@office.example.org.uk\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <report-{report_type}@dwp.gov.uk>\r\n"
        f"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{BOUNDARY}"\r\n'
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: text/plain\r\n\r\n"
        f"Your message was handled.\r\n"
        f"--{BOUNDARY}\r\n"
        f"{second_part}"
        f"--{BOUNDARY}--\r\n"
    ).encode()


def read_receipt(original_id: str) -> bytes:
    return report(
        "disposition-notification",
        "Content-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mail.dwp.gov.uk; Microsoft Exchange Server\r\n"
        "Final-Recipient: rfc822;mp.enquiries@dwp.gov.uk\r\n"
        f"Original-Message-ID: <{original_id}>\r\n"
        "Disposition: automatic-action/MDN-sent-automatically; displayed\r\n",
        "Read: Universal Credit",
    )


def delivery_receipt(original_id: str) -> bytes:
    return report(
        "delivery-status",
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.dwp.gov.uk\r\n\r\n"
        f"Final-Recipient: rfc822; {DWP}\r\n"
        "Action: delivered\r\n"
        "Status: 2.0.0\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_id}>\r\n"
        "Subject: Universal Credit\r\n",
        "Delivered: Universal Credit",
    )


def test_a_read_and_a_delivery_receipt_join_the_case_and_answer_nothing(
    database, smtp_server, tmp_path
):
    settings = office_settings(tmp_path, smtp_server.port, auto_acknowledge=False)
    pipeline = Pipeline(settings)
    reference = constituent_writes(database, pipeline)
    referral_id = refer(database, settings, reference)
    # When the DWP's server says the referral was delivered, and Outlook that it was read
    delivered = feed(database, pipeline, delivery_receipt(referral_id))
    read = feed(database, pipeline, read_receipt(referral_id))
    # Then both are receipts on the referral's case: not bounces, not the DWP's answer
    for outcome in (delivered, read):
        assert outcome.status == "stored", outcome.failure
        assert outcome.ctx.classification.kind == "auto_reply"
        assert outcome.ctx.case_id is not None
        assert outcome.ctx.thread_reason == "receipt of a message sent on this case"
    assert "delivered" in " ".join(delivered.ctx.classification.reasons)
    assert "read receipt" in " ".join(read.ctx.classification.reasons)
    assert follow_up_of(database, reference).status == OPEN
    assert sum(line.startswith("auto_reply") for line in timeline(database, reference)) == 2
    assert not any(line.startswith("bounce") for line in timeline(database, reference))
