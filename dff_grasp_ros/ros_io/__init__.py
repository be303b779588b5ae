"""ROS message conversions without cv_bridge, sensor_msgs_py or tf2: Image, CameraInfo, poses, PointCloud2, markers.

Readers are duck-typed (rclpy and rosbags messages alike); builders return rclpy messages.
"""
