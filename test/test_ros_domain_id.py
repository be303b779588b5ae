"""A ROS_DOMAIN_ID that DDS cannot use is refused in one line before any node or client starts (bad-input hunt:
300 printed only Fast DDS's "Calculated port number is too high" on stdout and exited 1; "abc" was an RCLError
called unexpected; bringup's nodes died one after another with tracebacks)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dff_grasp_ros.errors import InputError
from dff_grasp_ros.process_group import check_ros_domain_id


@pytest.mark.parametrize("value", ["300", "233", "abc", "-1", "1e2", "4.5"])
def test_a_domain_id_dds_cannot_use_is_refused(value):
    with pytest.raises(InputError, match=r"ROS_DOMAIN_ID=.* must be a whole number in \[0, 232\]"):
        check_ros_domain_id({"ROS_DOMAIN_ID": value})


@pytest.mark.parametrize("environ", [{}, {"ROS_DOMAIN_ID": ""}, {"ROS_DOMAIN_ID": "0"}, {"ROS_DOMAIN_ID": "232"}])
def test_usable_domain_ids_pass(environ):
    check_ros_domain_id(environ)


@pytest.mark.parametrize("argv", [["query", "mug", "--json"], ["bringup"]], ids=["query", "bringup"])
def test_the_commands_refuse_it_in_one_line(argv):
    done = subprocess.run([sys.executable, "-m", "dff_grasp_ros.cli", *argv], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "ROS_DOMAIN_ID": "300"})
    assert done.returncode == 2, done.stderr[-600:]
    assert done.stderr.strip().splitlines() == [
        f"dff-grasp {argv[0]}: ROS_DOMAIN_ID='300' must be a whole number in [0, 232] (or unset)"], done.stderr
    if "--json" in argv:
        assert json.loads(done.stdout)["success"] is False
