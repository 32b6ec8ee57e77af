"""asyncjobs: an asyncio client for HTTP job APIs.

Submit, inspect, cancel, watch and wait for long-running jobs over one aiohttp session, with a
reference job server and a test harness (:mod:`asyncjobs.testing`) to run it all on loopback.
"""

from ._client import Client
from ._exceptions import (
    APIError,
    AsyncJobsError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
)
from ._hooks import (
    Hook,
    Hooks,
    ReconnectEvent,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    TransportEvent,
)
from ._models import CleanupResult, Job, JobStatus, QueueStats, status_from_word
from ._sync import SyncClient
from ._transport import RetryPolicy
from ._version import __version__
from .profiles import PROFILES, Profile, Route

__all__ = [
    "APIError",
    "AsyncJobsError",
    "AuthenticationError",
    "BadRequestError",
    "CleanupResult",
    "Client",
    "ConflictError",
    "Hook",
    "Hooks",
    "Job",
    "JobCancelledError",
    "JobFailedError",
    "JobNotFoundError",
    "JobStatus",
    "JobTimeoutError",
    "PROFILES",
    "PermissionDeniedError",
    "Profile",
    "ProtocolError",
    "QueueStats",
    "RateLimitError",
    "ReconnectEvent",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "RetryPolicy",
    "Route",
    "ServerError",
    "SyncClient",
    "TransportError",
    "TransportEvent",
    "UnsupportedOperationError",
    "__version__",
    "status_from_word",
]
