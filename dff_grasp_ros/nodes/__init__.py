"""The dff_grasp ROS nodes, one module each. Started as ``python -m dff_grasp_ros.nodes.<node>``, a node is quiet
on Ctrl-C / SIGTERM from here on, before its slow imports (see :mod:`dff_grasp_ros.nodes.start`)."""
import sys

from dff_grasp_ros.nodes.start import node_module_in, quiet_while_starting

if node_module_in(sys.orig_argv):
    quiet_while_starting()
