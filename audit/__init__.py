"""The audit log: who changed which configuration, when, through what, and from what to what."""
