"""Reading error bodies of every known shape into ``(error, details)`` (sans-I/O).

The default of :meth:`Profile.parse_error`: native ``{"error", "details"}``, FastAPI
``{"detail": str | [{"loc", "msg"}]}``, ``{"error": {"code", "message", "errors"}}`` envelopes,
Dataiku ``{"errorType", "message", "detailedMessage"}`` and ``{"error", "message"}``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["error_fields"]


def _snippet(value: Any, size: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return str(value)


def _fastapi_detail(detail: Any) -> str | None:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else None
                msg = _text(item.get("msg")) or _snippet(item)
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts) or None
    return _text(detail)


def error_fields(body: Any) -> tuple[str | None, str | None]:
    """Read ``(error, details)`` from an error body of any known shape.

    Args:
        body: The decoded JSON body, or the body's text when it is not JSON.

    Returns:
        The reason (e.g. ``"Not Found"``, an error code or type) and what was wrong, each None
        when the body does not say.
    """
    if isinstance(body, str):
        text = body.strip()
        return None, (text[:500] if text else None)
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"code", "message", "errors": [...]}}
        message = _text(error.get("message"))
        code = _text(error.get("code"))
        reasons = error.get("errors")
        if isinstance(reasons, list):
            extra = [
                _text(r.get("message")) or _text(r.get("reason")) or ""
                for r in reasons
                if isinstance(r, dict)
            ]
            extra = [e for e in extra if e and e != message]
            if extra:
                message = "; ".join([m for m in (message, *extra) if m])
        return code, message
    if "errorType" in body:  # Dataiku
        return _text(body.get("errorType")), _text(
            body.get("detailedMessage") or body.get("message")
        )
    details = body.get("details")
    if details is None:
        details = body.get("message")
    if details is None and "detail" in body:
        return _text(error), _fastapi_detail(body.get("detail"))
    if details is not None and not isinstance(details, str):
        details = _snippet(details, 500)
    return _text(error), _text(details)
