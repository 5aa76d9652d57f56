"""The responder app: sign-in, what needs me now, incidents and their live pages."""
