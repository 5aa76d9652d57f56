"""How pages write dates and times: every time with its zone ("Sat 5 Dec 09:03 CET")."""

# Admin's list columns and read-only fields render date-times with DATETIME_FORMAT, in the
# active zone (oncall/usertime.py activates the viewer's); `T` is that zone's abbreviation.
DATETIME_FORMAT = "D j M H:i T"
SHORT_DATETIME_FORMAT = "D j M H:i T"
