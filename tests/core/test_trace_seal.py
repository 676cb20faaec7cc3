"""A sealed inspection record is checkpointed as soon as its transaction commits (core.anchor):
its chain head is signed and anchored without waiting for the ten-minute schedule."""
import json
from pathlib import Path

import pytest

from tests.inspections.conftest import checklists, food_task, items_of, payload, shop, sync, team, unit  # noqa: F401  (fixtures)
from zhijian.core import anchor, trace
from zhijian.core.models import TraceAnchorLine

pytestmark = pytest.mark.django_db


def test_sealing_a_record_checkpoints_its_chain_on_commit(sync, checklists, team, shop, food_task, django_capture_on_commit_callbacks):  # noqa: F811
    from zhijian.inspections.models import Inspection

    body = payload(entity=shop, officers=team, items=items_of("food_sales", 3), tasks=[food_task])
    with django_capture_on_commit_callbacks(execute=True):
        r = sync(team[0], body)
    assert r.status_code == 201, r.content
    sealed = Inspection.objects.select_related("seal_trace").get(pk=r.json()["id"])
    lines = [json.loads(x) for x in Path(anchor.anchor_path()).read_text().splitlines()]
    checkpoints = [x for x in lines if x["type"] == "checkpoint"]
    assert len(checkpoints) == 1 and checkpoints[0]["reason"] == "seal"
    heads = {c["name"]: (c["seq"], c["hash"]) for c in checkpoints[0]["chains"]}
    entry = sealed.seal_trace
    assert heads[entry.chain][0] >= entry.seq  # the seal's own entry is under the checkpoint
    assert TraceAnchorLine.objects.filter(kind="checkpoint", reason="seal").count() == 1
    assert trace.verify().ok
