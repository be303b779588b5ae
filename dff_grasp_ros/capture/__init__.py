"""Camera views -> dataset: stream synchronisation, per-view validation, view selection, the capture session
that ties them to the atomic DatasetWriter, and rosbag2 import through that same session."""
