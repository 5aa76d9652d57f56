"""Notifications go out: a due notification → a person through a channel, and their answer back."""
