"""The entities every layer exchanges: plain, validated, JSON-ready (pydantic) objects.

They carry data only; the workspace creates them, faces render them, and the HTTP client
rebuilds them from JSON with `model_validate`.
"""

from shipyard.core.schemas.common import Page
from shipyard.core.schemas.datasets import ColumnProfile, Dataset, DatasetProfile
from shipyard.core.schemas.endpoints import Endpoint, EndpointKeys, EndpointState
from shipyard.core.schemas.jobs import Job, JobEvent, JobEventKind, JobStatus
from shipyard.core.schemas.models import ModelVersion, RegisteredModel
from shipyard.core.schemas.principals import AccessToken, Caller, Principal, PrincipalCredentials
from shipyard.core.schemas.runs import Experiment, MetricPoint, Run, RunLog
from shipyard.core.schemas.telemetry import Bucket, TelemetrySummary
from shipyard.core.statuses import TERMINAL_STATUSES, RunStatus

__all__ = [
    "TERMINAL_STATUSES",
    "AccessToken",
    "Bucket",
    "Caller",
    "ColumnProfile",
    "Dataset",
    "DatasetProfile",
    "Endpoint",
    "EndpointKeys",
    "EndpointState",
    "Experiment",
    "Job",
    "JobEvent",
    "JobEventKind",
    "JobStatus",
    "MetricPoint",
    "ModelVersion",
    "Page",
    "Principal",
    "PrincipalCredentials",
    "RegisteredModel",
    "Run",
    "RunLog",
    "RunStatus",
    "TelemetrySummary",
]
