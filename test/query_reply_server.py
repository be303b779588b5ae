"""A stand-alone /query_object server answering with a deterministic reply (for the DDS interface test).

Run as a script in its own process; the test computes the same reply with :func:`expected_reply` and compares.
"""
from __future__ import annotations

import sys
import zlib

import numpy as np

NUM_POINTS = 50_000


def expected_reply(prompt: str) -> dict:
    rng = np.random.default_rng(zlib.crc32(prompt.encode()))
    points = rng.uniform(-0.5, 0.5, (NUM_POINTS, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, (NUM_POINTS, 3), dtype=np.uint8)
    relevancy = rng.uniform(0, 1, NUM_POINTS).astype(np.float32)
    position = rng.uniform(-0.3, 0.3, 3)
    quat = rng.standard_normal(4)
    quat /= np.linalg.norm(quat)
    return {"points": points, "rgb": rgb, "relevancy": relevancy, "position": position, "quat_xyzw": quat,
            "width_m": 0.0425, "opening_m": 0.0465, "score": 0.875, "candidate_scores": [0.875, 0.5],
            "latency_s": 0.125,
            "message": f"echo: {prompt}"}


def main() -> None:
    import rclpy
    from geometry_msgs.msg import Pose

    from dff_grasp.srv import QueryObject
    from dff_grasp_ros import names
    from dff_grasp_ros.ros_io.pointcloud import make_pointcloud2

    rclpy.init()
    node = rclpy.create_node("query_reply_server")

    def handle(request: QueryObject.Request, response: QueryObject.Response) -> QueryObject.Response:
        reply = expected_reply(request.prompt)
        response.success = True
        response.message = reply["message"]
        response.relevancy_cloud = make_pointcloud2(reply["points"], frame_id="base_link", stamp_ns=123,
                                                    rgb=reply["rgb"], relevancy=reply["relevancy"])
        response.grasp_pose.header.frame_id = "base_link"
        p, q = reply["position"], reply["quat_xyzw"]
        response.grasp_pose.pose.position.x, response.grasp_pose.pose.position.y = float(p[0]), float(p[1])
        response.grasp_pose.pose.position.z = float(p[2])
        o = response.grasp_pose.pose.orientation
        o.x, o.y, o.z, o.w = (float(v) for v in q)
        response.grasp_width_m = reply["width_m"]
        response.grasp_opening_m = reply["opening_m"]
        response.score = reply["score"]
        response.candidates.header.frame_id = "base_link"
        response.candidates.poses = [response.grasp_pose.pose, Pose()]
        response.candidate_scores = reply["candidate_scores"]
        response.latency_s = reply["latency_s"]
        return response

    node.create_service(QueryObject, names.QUERY_OBJECT_SERVICE, handle)
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
