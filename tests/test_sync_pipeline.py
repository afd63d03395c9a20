"""The sync's three-stage pipeline (p2c_upgrade/sync/pipeline.py), with stages that record what
they did: every batch goes through every stage in order, a batch's state is written only after
its own target write, batches are counted in key order, and a stage's error stops the run
without leaving a later batch's state written."""

from __future__ import annotations

import threading
import time

import pytest

from p2c_upgrade.sync.pipeline import Pipeline

MODES = [(True, True), (True, False), (False, False)]


class Recorder:
    def __init__(self, fail_at: tuple[str, int] | None = None) -> None:
        self.events: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.fail_at = fail_at

    def stage(self, name: str, delay: float = 0.0):  # type: ignore[no-untyped-def]
        def run(b: int) -> None:
            if delay:
                time.sleep(delay * (b % 3))  # uneven, so a wrong order would show
            if self.fail_at == (name, b):
                raise RuntimeError(f"{name} {b} failed")
            with self.lock:
                self.events.append((name, b))
        return run

    def pipeline(self, target_thread: bool, state_thread: bool) -> Pipeline[int]:
        def prepare(rows: list[dict[str, object]]) -> int:
            b = int(rows[0]["n"])  # type: ignore[call-overload]
            with self.lock:
                self.events.append(("prepare", b))
            return b
        return Pipeline(prepare, self.stage("target", 0.002), self.stage("state", 0.001),
                        self.stage("account"), target_thread=target_thread,
                        state_thread=state_thread)


def batches(n: int):  # type: ignore[no-untyped-def]
    return iter([[{"n": i}] for i in range(n)])


@pytest.mark.parametrize("target_thread,state_thread", MODES)
def test_every_batch_passes_every_stage_in_order(target_thread: bool,
                                                  state_thread: bool) -> None:
    rec = Recorder()
    rec.pipeline(target_thread, state_thread).run(batches(7))
    for stage in ("prepare", "target", "state", "account"):
        assert [b for s, b in rec.events if s == stage] == list(range(7)), stage
    position = {e: i for i, e in enumerate(rec.events)}
    for b in range(7):
        assert position[("target", b)] < position[("state", b)] < position[("account", b)]
        if b >= 3:  # at most three batches held: N is prepared once N-3 is counted
            assert position[("prepare", b)] > position[("account", b - 3)]


@pytest.mark.parametrize("target_thread,state_thread", MODES)
@pytest.mark.parametrize("stage", ["target", "state"])
def test_a_failed_stage_stops_the_run_and_no_later_state_is_written(
        target_thread: bool, state_thread: bool, stage: str) -> None:
    rec = Recorder(fail_at=(stage, 3))
    with pytest.raises(RuntimeError, match=f"{stage} 3 failed"):
        rec.pipeline(target_thread, state_thread).run(batches(10))
    written = [b for s, b in rec.events if s == "state"]
    assert written == list(range(len(written))) and max(written) < 3
    targets = {b for s, b in rec.events if s == "target"}
    assert all(b in targets for b in written)  # no state without its target write


def test_an_empty_task_runs_no_stage() -> None:
    rec = Recorder()
    rec.pipeline(True, True).run(batches(0))
    assert rec.events == []
