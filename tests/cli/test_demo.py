"""``asyncjobs demo`` runs to completion, with rich bars and in plain mode; its batch is seeded."""

from __future__ import annotations

from pathlib import Path

from _cli_runner import Run, cli_sync

from asyncjobs.cli._demo import plan_batch

# Small and fast: 4 jobs on 2 workers, 4x speed (about 3 s).
FAST = ["--jobs", "4", "--speed", "4"]


def run_demo(*args: str, pythonpath: Path | None = None) -> Run:
    return cli_sync("demo", *args, pythonpath=pythonpath)


def assert_summary(out: str, names: list[str]) -> None:
    summary = out[out.index("Summary") :]
    for name in names:
        assert name in summary
    for status in ("completed", "failed", "cancelled"):
        assert status in summary
    totals = "\n".join(summary.strip().splitlines()[-3:])
    assert "4 jobs in" in totals and "over 1 SSE stream" in totals, totals
    assert "requests in all: 4 submits," in totals
    assert "Polling each job once a second would have taken" in totals


def test_plan_is_seeded_and_mixed() -> None:
    """The same seed gives the same batch; it has failures and one job to cancel."""
    batch = plan_batch(12, seed=7)
    assert batch == plan_batch(12, seed=7)
    assert batch != plan_batch(12, seed=8)
    assert len({job.name for job in batch}) == 12
    assert sum(bool(job.config.get("fail")) for job in batch) == 2
    [cancelled] = [job for job in batch if job.cancel_at is not None]
    assert not cancelled.config.get("fail")
    assert all(2.0 <= job.config["duration"] <= 7.0 for job in batch)
    assert max(job.config["duration"] for job in plan_batch(12, seed=7, speed=4)) <= 1.75
    assert len(plan_batch(40, seed=1)) == 40  # names repeat with a suffix past the list
    assert [job.cancel_at for job in plan_batch(1, seed=1)] == [None]


def test_plain_demo_prints_a_line_per_update_and_a_summary() -> None:
    """--plain: a title, lines of updates, a summary table and the totals line; exit 0."""
    run = run_demo(*FAST, "--plain")
    assert run.code == 0, run.err
    assert run.err == ""
    assert "\x1b[" not in run.out
    names = [job.name for job in plan_batch(4, seed=7)]
    first, second = run.out.splitlines()[:2]
    assert first == "asyncjobs demo · 4 jobs on 2 workers · seed 7"
    assert second.startswith("embedded server http://127.0.0.1:")
    updates = run.out[: run.out.index("Summary")]
    assert "step 1/" in updates and "running" in updates
    assert_summary(run.out, names)


def test_demo_without_a_terminal_falls_back_to_plain() -> None:
    """stdout is a pipe here, so the demo prints plain lines without being told."""
    run = run_demo("--jobs", "2", "--speed", "8", "--seed", "3")
    assert run.code == 0, run.err
    assert "\x1b[" not in run.out
    assert "Summary" in run.out


def test_rich_demo_draws_live_bars() -> None:
    """--force-terminal: rich draws live bars (cursor control, colours) and a summary table."""
    run = run_demo(*FAST, "--force-terminal")
    assert run.code == 0, run.err
    assert "\x1b[?25l" in run.out  # the cursor hidden while the bars are live
    assert "━" in run.out  # bars
    assert "updates over" in run.out  # the live footer
    names = [job.name for job in plan_batch(4, seed=7)]
    assert_summary(run.out, names)


def test_demo_without_rich_falls_back_to_plain(without_rich: Path) -> None:
    """Without the cli extra (rich cannot be imported), even --force-terminal prints plain lines."""
    run = run_demo("--jobs", "2", "--speed", "8", "--force-terminal", pythonpath=without_rich)
    assert run.code == 0, run.err
    assert "\x1b[" not in run.out
    assert "Summary" in run.out and "RESULT / ERROR" in run.out


def test_bad_options_exit_2() -> None:
    """--jobs out of range: one line on stderr, exit status 2."""
    run = run_demo("--jobs", "0")
    assert run.code == 2
    assert run.err.strip() == "asyncjobs: error: --jobs must be 1..500, got 0"
