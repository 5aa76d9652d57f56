"""Page texts: one GSM-7 SMS segment."""

from paging.notify.messages import SMS_SEGMENT, gsm_length, gsm_safe, sms_page


def test_page_reads_like_a_page():
    text = sms_page(number=12, severity="critical", service="payments", summary="disk full", code=4)

    assert text == "#12 CRIT payments: disk full - reply 4A ack, 4R resolve"


def test_long_summary_is_cut_to_one_segment_keeping_the_reply_hint():
    text = sms_page(number=1, severity="warning", service="db", summary="x " * 200, code=12)

    assert gsm_length(text) <= SMS_SEGMENT
    assert text.endswith("... - reply 12A ack, 12R resolve")


def test_characters_that_force_ucs2_are_folded():
    assert gsm_safe("Café — “quoted” … naïve") == 'Cafe - "quoted" ... naive'


def test_extended_characters_count_double():
    assert gsm_length("[x]") == 5
