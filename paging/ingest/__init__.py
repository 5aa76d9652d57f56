"""Alerts come in: a webhook request → parsed by its format → stored, deduplicated, as an alert."""
