"""The settings of the limits on what costs money: strict like every other setting."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from oncall import env


def test_rates_read_count_per_window_and_refuse_anything_else(monkeypatch):
    monkeypatch.setenv("SENDS", "3/10m, 10/24h")
    assert env.env_rates("SENDS", "1/1h") == (
        (3, dt.timedelta(minutes=10)),
        (10, dt.timedelta(hours=24)),
    )
    monkeypatch.setenv("SENDS", "3 per 10m")
    with pytest.raises(ImproperlyConfigured, match="SENDS: '3 per 10m' is not a limit"):
        env.env_rates("SENDS", "1/1h")
    monkeypatch.setenv("SENDS", "0/10m")
    with pytest.raises(ImproperlyConfigured, match="is not a limit"):
        env.env_rates("SENDS", "1/1h")


def test_phone_prefixes_are_plus_and_digits_or_none(monkeypatch):
    monkeypatch.setenv("CODES", "+1, +44")
    assert env.env_phone_prefixes("CODES", "none") == ("+1", "+44")
    monkeypatch.setenv("CODES", "none")
    assert env.env_phone_prefixes("CODES", "+881") == ()
    monkeypatch.setenv("CODES", "44")
    with pytest.raises(ImproperlyConfigured, match="CODES: '44' is not a number prefix"):
        env.env_phone_prefixes("CODES", "none")
