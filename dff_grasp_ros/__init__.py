"""dff_grasp: language-driven, part-aware grasping from a distilled feature field, as ROS 2 nodes."""
__version__ = "0.1.0"
