"""pip side of the ROS package ``dff_grasp`` (Python package ``dff_grasp_ros``).

Console scripts and the nerfstudio method entry points live in setup.cfg, so that colcon's
ament_python_install_package (CMakeLists.txt) installs exactly the same executables.
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "dff_grasp"

setup(
    name="dff_grasp_ros",
    version="0.1.0",
    description="Language-driven, part-aware grasping from a distilled feature field, as ROS 2 nodes",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["dff_grasp_ros", "dff_grasp_ros.*"]),
    package_data={"dff_grasp_ros.synthetic": ["scenes/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz")),
    ],
    zip_safe=False,
)
