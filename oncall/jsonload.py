"""Reading JSON whose numbers no float or int can hold (1e400, -2E+999, 5000 digits).

`json.loads` turns `1e400` into infinity, which neither PostgreSQL's jsonb nor SQLite's JSON
check stores, and no integer lookup takes; past 4300 digits it raises. Both are kept as the text
the sender wrote instead: a webhook pages with it as a detail, and the API refuses it naming the
field, as it refuses any other text where a number belongs.
"""

import json
import math
from typing import Any


def _float_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _int_or_text(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits()
        return text


def loads(text: str, **kwargs: Any) -> Any:
    """Decode JSON text, keeping each number no float or int can hold as its text."""
    return json.loads(text, parse_float=_float_or_text, parse_int=_int_or_text, **kwargs)
