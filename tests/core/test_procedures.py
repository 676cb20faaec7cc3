"""Every procedure's illegal transitions are refused — generated from the procedures' own tables.

The procedures register themselves when their modules are imported; this test imports every module
of the product, so a new procedure (complaints, cases, licences …) is covered the day it is written.
"""
import importlib
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zhijian
from zhijian.core.workflow import PROCEDURES, StateError

_SKIP = (".migrations", ".management", ".settings", ".wsgi", ".asgi", ".cli")


def _import_all():
    for mod in pkgutil.walk_packages(zhijian.__path__, "zhijian."):
        if any(part in mod.name for part in _SKIP):
            continue
        importlib.import_module(mod.name)
    return {name: p for name, p in PROCEDURES.items() if not name.startswith("test.")}


REAL = _import_all()

# The procedures the product runs today; a procedure that disappears must be removed here on purpose.
EXPECTED = {"supervision.task", "coordination.pushitem", "clues.clue", "grid.gridcase"}


def test_every_procedure_is_registered():
    assert EXPECTED <= set(REAL), sorted(REAL)


def _cases():
    return [(name, str(state), str(action)) for name, p in sorted(REAL.items())
            for state in p.states.values for action in p.actions.values if action in p.table]


@pytest.mark.parametrize("name", sorted(REAL))
def test_table_fits_on_one_screen(name):
    """One table per procedure, readable at a glance: a handful of rows, every state reachable or initial."""
    p = REAL[name]
    assert 1 <= len(p.table) <= 25
    targets = {s for t in p.transitions for s in t.targets}
    sources = {s for t in p.transitions for s in t.sources}
    # Every state the table names is a declared state, and every target is a state of the procedure.
    assert targets | sources <= set(p.states.values)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_cases() or [("", "", "")]))
def test_illegal_transitions_are_refused(case):
    name, state, action = case
    if not name:
        return
    p = REAL[name]
    obj = p.model()
    setattr(obj, p.state_field, state)
    setattr(obj, p.version_field, 1)
    legal = state in p.table[action].sources
    if legal:
        return  # whether a legal step goes ahead is for the guards and the procedure's own tests
    with pytest.raises(StateError) as err:
        p.check(obj, action, None)
    assert err.value.status == 409
    assert p.state_label(state) in err.value.message and p.action_label(action) in err.value.message
    assert p.can(obj, action, None) is False
    assert action not in p.allowed(obj, None)


@pytest.mark.parametrize("name", sorted(REAL))
def test_final_states_allow_nothing(name):
    p = REAL[name]
    for state in p.states.values:
        if p.is_final(state):
            obj = p.model()
            setattr(obj, p.state_field, state)
            assert p.allowed(obj, None) == []
