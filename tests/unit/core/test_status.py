import pytest

from euglena.status import TaskStatus, can_transition

S = TaskStatus
FORWARD = [S.PENDING, S.ACCEPTED, S.STARTED, S.IN_PROGRESS]
TERMINAL = [S.COMPLETED, S.FAILED, S.CANCELLED]


@pytest.mark.parametrize("current", FORWARD)
@pytest.mark.parametrize("new", TERMINAL)
def test_any_open_status_may_finish(current: TaskStatus, new: TaskStatus) -> None:
    assert can_transition(current, new)


@pytest.mark.parametrize("current", TERMINAL)
@pytest.mark.parametrize("new", list(TaskStatus))
def test_terminal_is_final(current: TaskStatus, new: TaskStatus) -> None:
    assert not can_transition(current, new)


def test_status_never_moves_backwards() -> None:
    for i, current in enumerate(FORWARD):
        for j, new in enumerate(FORWARD):
            assert can_transition(current, new) is (j >= i), (current, new)
