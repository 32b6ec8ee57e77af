"""Integrations with other libraries, each behind an optional extra and imported only when you
import it: :mod:`asyncjobs.contrib.otel` (OpenTelemetry, ``pip install 'asyncjobs[otel]'``)."""

__all__: list[str] = []
