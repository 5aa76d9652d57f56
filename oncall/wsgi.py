"""WSGI entry point for gunicorn."""

import io
import os
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from oncall.startup import system_checks_pass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def _chunked(environ: dict) -> bool:
    """Return whether the body is chunked and the server ends the input stream where it ends."""
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and bool(environ.get("wsgi.input_terminated"))


def read_chunked_bodies(app: WSGIApp) -> WSGIApp:
    """Wrap `app` so a chunked body (no Content-Length) is read, up to the size cap."""

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        # Django reads a body only as far as Content-Length, so without one it looked empty and
        # was refused with a 400 (which Alertmanager drops for good). One byte past the cap is
        # enough for Django to answer 413, as it does to any body over it.
        if _chunked(environ) and not environ.get("CONTENT_LENGTH"):
            cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = environ["wsgi.input"].read(-1 if cap is None else cap + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wrapped


django_application = get_wsgi_application()
# gunicorn runs no system checks of its own: a web worker must refuse a setup runserver refuses.
system_checks_pass()
application = read_chunked_bodies(django_application)
