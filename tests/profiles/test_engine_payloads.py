"""The ``ray`` and ``flower`` profiles read the engines' real payloads (sans-I/O): Ray's
JobDetails and plain-text errors, Flower's task info with its repr strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from asyncjobs import ConflictError, JobNotFoundError, JobStatus, ProtocolError
from asyncjobs.live import job_error
from asyncjobs.profiles import FLOWER, RAY

RAY_JOB: dict[str, Any] = {
    "type": "SUBMISSION",
    "job_id": "02000000",
    "submission_id": "raysubmit_qLyHL2J1hMNtwUxY",
    "driver_info": {"id": "02000000", "node_ip_address": "127.0.0.1", "pid": "4242"},
    "status": "RUNNING",
    "entrypoint": "python train.py",
    "message": "Job is currently running.",
    "error_type": None,
    "start_time": 1765017938080,
    "end_time": None,
    "metadata": {"name": "train"},
    "runtime_env": {"env_vars": {"A": "1"}},
    "driver_agent_http_address": "http://127.0.0.1:52365",
    "driver_node_id": "abc",
    "driver_exit_code": None,
}

FLOWER_TASK: dict[str, Any] = {
    "uuid": "e42ceb2d-8730-47b5-8b4d-8e0d2a1ef7c9",
    "name": "tasks.add",
    "state": "SUCCESS",
    "received": 1398505411.107885,
    "sent": None,
    "started": 1398505411.108985,
    "succeeded": 1398505411.124802,
    "failed": None,
    "revoked": None,
    "args": "[3, 4]",
    "kwargs": "{'scale': 2}",
    "result": "7",
    "exception": None,
    "traceback": None,
    "timestamp": 1398505411.124802,
    "runtime": 0.016,
    "retries": 0,
    "worker": "celery@worker1",
}


def test_ray_job_id_is_the_submission_id_and_raw_is_rays_record() -> None:
    job = RAY.parse_job(RAY_JOB)
    assert job.id == "raysubmit_qLyHL2J1hMNtwUxY"
    assert job.status is JobStatus.RUNNING
    assert job.name == "train"
    assert job.message == "Job is currently running."
    assert job.started_at == datetime.fromtimestamp(1765017938.080, UTC)
    assert job.config == {
        "entrypoint": "python train.py",
        "metadata": {"name": "train"},
        "runtime_env": {"env_vars": {"A": "1"}},
    }
    assert job.raw is RAY_JOB


def test_a_ray_driver_job_without_submission_id_keeps_its_job_id() -> None:
    job = RAY.parse_job({**RAY_JOB, "type": "DRIVER", "submission_id": None, "metadata": {}})
    assert job.id == "02000000"
    assert job.name == "python train.py"


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("PENDING", JobStatus.PENDING),
        ("RUNNING", JobStatus.RUNNING),
        ("STOPPED", JobStatus.CANCELLED),
        ("SUCCEEDED", JobStatus.COMPLETED),
        ("FAILED", JobStatus.FAILED),
    ],
)
def test_every_ray_status(word: str, status: JobStatus) -> None:
    assert RAY.parse_job({**RAY_JOB, "status": word}).status is status


def test_a_failed_ray_job_names_its_reason_and_error_type() -> None:
    message = "Job entrypoint command failed with exit code 3, last available logs: boom"
    job = RAY.parse_job(
        {
            **RAY_JOB,
            "status": "FAILED",
            "message": message,
            "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR",
            "driver_exit_code": 3,
            "end_time": 1765017940000,
        }
    )
    error = job_error(job, RAY)
    assert error is not None
    assert error.details == {
        "job_id": job.id,
        "failure_reason": message,
        "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR",
        "driver_exit_code": 3,
    }
    assert job.completed_at == datetime.fromtimestamp(1765017940, UTC)


def test_ray_submit_body_takes_rays_fields_and_the_key_as_submission_id() -> None:
    body = RAY.submit_body(
        name="train",
        config={"entrypoint": "python t.py", "entrypoint_num_cpus": 1, "metadata": {"a": "b"}},
        priority=2,
        idempotency_key="key-1",
    )
    assert body == {
        "entrypoint": "python t.py",
        "entrypoint_num_cpus": 1,
        "metadata": {"name": "train", "a": "b"},
        "submission_id": "key-1",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "must hold 'entrypoint'"),
        ({"entrypoint": "  "}, "must hold 'entrypoint'"),
        ({"entrypoint": "x", "priority": 3}, "does not take: priority"),
        ({"entrypoint": "x", "metadata": {"a": 1}}, "must map strings to strings"),
    ],
)
def test_ray_submit_body_refuses_what_ray_would_refuse(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RAY.submit_body(name=None, config=config, priority=2, idempotency_key="k")


def test_ray_list_is_put_newest_first() -> None:
    older = {**RAY_JOB, "submission_id": "a", "start_time": 1000}
    newer = {**RAY_JOB, "submission_id": "b", "start_time": 2000}
    jobs, cursor = RAY.parse_list([older, newer])
    assert [job.id for job in jobs] == ["b", "a"]
    assert cursor is None


def test_ray_errors_are_plain_text_read_by_their_last_line() -> None:
    reason = "Job with submission_id k already exists. Please use a different submission_id."
    trace = f"Traceback (most recent call last):\n  File ...\nValueError: {reason}\n"
    assert RAY.classify_error(500, trace, operation="submit") is ConflictError
    assert RAY.parse_error(trace) == (
        "ValueError",
        "ValueError: Job with submission_id k already exists. Please use a different "
        "submission_id.",
    )
    assert RAY.classify_error(500, "RuntimeError: not terminal", operation="delete") is (
        ConflictError
    )
    assert RAY.classify_error(404, "Job x does not exist", operation="get") is JobNotFoundError
    assert RAY.classify_error(500, "Server got itself in trouble", operation="get") is None
    assert RAY.parse_error("Server got itself in trouble") == (
        None,
        "Server got itself in trouble",
    )


def test_ray_log_answer_is_text() -> None:
    assert RAY.parse_log('{"logs": "line 1\\nline 2\\n"}') == "line 1\nline 2\n"
    assert RAY.parse_log("not json") == "not json"


def test_flower_result_and_args_are_python_data() -> None:
    job = FLOWER.parse_job(FLOWER_TASK)
    assert job.id == FLOWER_TASK["uuid"]
    assert (job.status, job.name, job.result) == (JobStatus.COMPLETED, "tasks.add", 7)
    assert job.config == {"args": [3, 4], "kwargs": {"scale": 2}}
    assert job.created_at == datetime.fromtimestamp(1398505411.107885, UTC)
    assert job.completed_at == datetime.fromtimestamp(1398505411.124802, UTC)


@pytest.mark.parametrize(
    ("result", "value"),
    [("'7'", "7"), ("{'a': [1, None]}", {"a": [1, None]}), ("<object at 0x1>", "<object at 0x1>")],
)
def test_flower_result_reprs(result: str, value: Any) -> None:
    assert FLOWER.parse_job({**FLOWER_TASK, "result": result}).result == value


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("PENDING", JobStatus.PENDING),
        ("RECEIVED", JobStatus.PENDING),
        ("STARTED", JobStatus.RUNNING),
        ("RETRY", JobStatus.RUNNING),
        ("SUCCESS", JobStatus.COMPLETED),
        ("FAILURE", JobStatus.FAILED),
        ("REVOKED", JobStatus.CANCELLED),
    ],
)
def test_every_celery_state(word: str, status: JobStatus) -> None:
    job = FLOWER.parse_job({**FLOWER_TASK, "state": word})
    assert job.status is status
    assert (job.result is not None) is (status is JobStatus.COMPLETED)


def test_a_flower_failure_carries_the_exception_and_traceback() -> None:
    trace = 'Traceback (most recent call last):\n  File "tasks.py"\nValueError: boom\n'
    job = FLOWER.parse_job(
        {**FLOWER_TASK, "state": "FAILURE", "exception": "ValueError('boom')", "traceback": trace}
    )
    error = job_error(job, FLOWER)
    assert error is not None
    assert error.details["failure_reason"] == "ValueError('boom')"
    assert error.details["traceback"] == trace


def test_flower_list_is_an_object_keyed_by_id_and_filters_one_celery_state() -> None:
    tasks = {"a": {**FLOWER_TASK, "uuid": "a"}, "b": dict(FLOWER_TASK)}
    del tasks["b"]["uuid"]
    jobs, cursor = FLOWER.parse_list(tasks)
    assert [job.id for job in jobs] == ["a", "b"]
    assert cursor is None
    params = FLOWER.list_params(status=JobStatus.FAILED, page_size=50, cursor="100")
    assert params == {"sort_by": "-received", "offset": "100", "limit": "50", "state": "FAILURE"}
    assert "state" not in FLOWER.list_params(status=JobStatus.PENDING, page_size=5, cursor=None)


def test_flower_submit_body_and_revoke_query() -> None:
    body = FLOWER.submit_body(name="tasks.add", config={"args": (2, 3), "countdown": 1}, priority=2)
    assert body == {"args": [2, 3], "kwargs": {}, "countdown": 1}
    with pytest.raises(ValueError, match="'kwargs' must be an object"):
        FLOWER.submit_body(name="tasks.add", config={"kwargs": [1]}, priority=2)
    assert FLOWER.operation_params("cancel", job_id="x") == {
        "terminate": "true",
        "signal": "SIGTERM",
    }
    assert FLOWER.path_params("submit", name="tasks.add") == {"name": "tasks.add"}


def test_flower_queue_lengths_are_pending() -> None:
    stats = FLOWER.parse_stats(
        {"active_queues": [{"name": "celery", "messages": 3}, {"name": "b", "messages": 2}]}
    )
    assert stats.pending == 5
    with pytest.raises(ProtocolError, match="active_queues"):
        FLOWER.parse_stats({})
