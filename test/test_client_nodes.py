"""The clients' pool of nodes: reused after a call that succeeded, closed after one that failed, never carried
into another ROS domain (no DDS traffic needed: contexts only)."""
from __future__ import annotations

import pytest

from dff_grasp_ros.clients import _ClientNodes


def test_a_node_is_reused_after_success_and_closed_after_a_failure(monkeypatch, another_domain_id):
    pool = _ClientNodes()
    try:
        with pool.borrow() as (node, clients):
            clients["marker"] = 1
        with pool.borrow() as (again, again_clients):
            assert again is node and again_clients == {"marker": 1}
            # Two calls at once (threads) never share a node.
            with pool.borrow() as (other, _):
                assert other is not node
        with pytest.raises(RuntimeError), pool.borrow() as (failed, _):
            raise RuntimeError("timed out")
        assert not failed.context.ok()  # a late reply of the failed call can reach no later call
        with pool.borrow() as (fresh, _):
            assert fresh is not failed and fresh.context.ok()
        # A domain claimed for this test: a fixed id such as 42 was a no-op on the worker that had claimed 42, and
        # the next id after this process's own is usually the other worker's, whose DDS tests then lost goals.
        monkeypatch.setenv("ROS_DOMAIN_ID", str(another_domain_id))
        with pool.borrow() as (elsewhere, _):
            assert elsewhere is not fresh
        assert not fresh.context.ok()  # the node of the old domain was closed
    finally:
        pool.close_all()


def test_at_most_max_idle_nodes_are_kept():
    pool = _ClientNodes()
    try:
        with pool.borrow() as (first, _), pool.borrow() as (second, _), pool.borrow() as (third, _):
            pass
        kept = [node for node in (first, second, third) if node.context.ok()]
        assert len(kept) == _ClientNodes.MAX_IDLE
    finally:
        pool.close_all()
    assert not any(node.context.ok() for node in (first, second, third))
