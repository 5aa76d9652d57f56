"""The REST API's JSON parser (its own module: DRF imports it while its views load)."""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from oncall import jsonload


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a number no float or int can hold is read as its text.

    DRF's own makes `1e400` infinity, which integer fields and lookups crash on (a 500); as text
    it is refused naming the field, like any other text where a number belongs.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> object:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            return jsonload.loads(stream.read().decode(encoding), parse_constant=strict_constant)
        except (ValueError, RecursionError) as exc:  # undecodable, invalid, or nested too deep
            raise ParseError(f"JSON parse error - {exc}") from None
