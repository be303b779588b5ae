"""``dff-grasp calibrate``: eye-in-hand calibration offline, from a views folder or a rosbag2 recording.

The command line's half that needs no ROS graph (``cli.py`` adds ``--sim``, which renders a views folder with the
test bed first). Board and frame defaults are the ``hand_eye`` node's parameters, so both agree.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dff_grasp_ros.errors import expand_home, one_line

if TYPE_CHECKING:  # the board module imports OpenCV: only where a board is made
    from dff_grasp_ros.calibration.board import CharucoBoardSpec

HAND_EYE_FILE = "hand_eye.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dff_grasp_ros.nodes.params import defaults

    d = defaults("hand_eye")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--views", type=Path, help="views folder: camera_info.yaml, tool_poses.yaml, images")
    source.add_argument("--from-bag", type=Path, help="rosbag2 (sqlite3 or MCAP) with image, camera_info, tool pose")
    source.add_argument("--sim", nargs="?", const="tabletop", metavar="SCENE",
                        help="render a board on the simulated table from a camera on a simulated tool, calibrate, "
                             "and print the error against the true mount")
    source.add_argument("--write-board", type=Path, metavar="PNG",
                        help="write the board (the --squares/--*-length-m below) as an image to print at 100 %% "
                             "scale at --dpi, and exit")
    source.add_argument("--live", action="store_true",
                        help="over ROS: the hand_eye node (/calibrate_hand_eye) collects views while you move the arm")
    parser.add_argument("--out", type=Path, default=None, help=f"result YAML (default <calibration_dir>/"
                                                               f"{HAND_EYE_FILE}; --sim: next to its views)")
    parser.add_argument("--keep-views", type=Path, default=None, help="--from-bag/--sim: write the views used "
                                                                      "here as a views folder")
    parser.add_argument("--json", action="store_true", help="print the result (or the failure) as JSON")
    board = parser.add_argument_group("board (defaults: the hand_eye node's board_* parameters)")
    board.add_argument("--squares-x", type=int, default=d["board_squares_x"])
    board.add_argument("--squares-y", type=int, default=d["board_squares_y"])
    board.add_argument("--square-length-m", type=float, default=d["board_square_length_m"])
    board.add_argument("--marker-length-m", type=float, default=d["board_marker_length_m"])
    board.add_argument("--dictionary", default=d["board_dictionary"])
    board.add_argument("--dpi", type=int, default=300, help="--write-board: printer resolution")
    bag = parser.add_argument_group("--from-bag topics; frames of the tool poses")
    bag.add_argument("--image-topic", default=d["image_topic"])
    bag.add_argument("--camera-info-topic", default=d["camera_info_topic"])
    bag.add_argument("--tool-pose-topic", default="", help="PoseStamped of the tool in the base frame ('' = TF)")
    for key in ("base_frame", "tool_frame"):  # None: not given (a views folder's own frames stand)
        bag.add_argument("--" + key.replace("_", "-"), default=None,
                         help=f"--from-bag: the TF frame to look up; --views/--sim: the frame their tool poses are "
                              f"of, refused when it is another (default: the folder's, else {d[key]!r})")
    bag.add_argument("--still-time", type=float, default=d["still_time_s"],
                     help="seconds the tool must have stood still before an image counts")
    parser.add_argument("--camera-frame", default=d["camera_frame"], help="the camera optical frame's TF name")
    parser.add_argument("--min-views", type=int, default=d["min_views"])
    parser.add_argument("--min-rotation-deg", type=float, default=d["min_view_rotation_deg"])
    parser.add_argument("--min-corners", type=int, default=d["min_board_corners"])
    live = parser.add_argument_group("--live")
    live.add_argument("--num-views", type=int, default=0, help="views to collect (0 = the node's default_views)")
    live.add_argument("--timeout", type=float, default=0.0, help="seconds; 0 = no limit")
    sim = parser.add_argument_group("--sim")
    sim.add_argument("--sim-views", type=int, default=15)
    sim.add_argument("--sim-noise-mm", type=float, default=0.0, help="Gaussian error of the arm's poses, per axis")
    sim.add_argument("--sim-noise-deg", type=float, default=0.0)
    sim.add_argument("--seed", type=int, default=0)


# Flags that set a hand_eye node parameter for this run: checked against the parameter's type and range, as the
# node checks its parameter file (before 2026-12-02 --min-corners -5 and --min-rotation-deg nan calibrated with
# the check off, and --camera-frame '' wrote a static-transform line without a child frame).
NODE_PARAMETER_FLAGS = {"min_views": "min_views", "min_rotation_deg": "min_view_rotation_deg",
                        "min_corners": "min_board_corners", "still_time": "still_time_s",
                        "camera_frame": "camera_frame", "base_frame": "base_frame", "tool_frame": "tool_frame",
                        "image_topic": "image_topic", "camera_info_topic": "camera_info_topic"}
# The flags each source reads (``--json`` aside). Any other flag given a value of its own is refused, naming it:
# ignored, ``--live --square-length-m 0.03`` calibrated with the node's own square size (a wrong square scales
# the camera's offset from the tool) and ``--views DIR --keep-views K`` wrote no K, without a word.
BOARD_FLAGS = ("squares_x", "squares_y", "square_length_m", "marker_length_m", "dictionary")
SOLVE_FLAGS = ("camera_frame", "base_frame", "tool_frame", "min_views", "min_rotation_deg", "min_corners")
SOURCE_FLAGS = {
    "live": ("num_views", "timeout", "out"),
    "write_board": (*BOARD_FLAGS, "dpi"),
    "views": (*BOARD_FLAGS, *SOLVE_FLAGS, "out"),
    "from_bag": (*BOARD_FLAGS, *SOLVE_FLAGS, "out", "keep_views", "image_topic", "camera_info_topic",
                 "tool_pose_topic", "still_time"),
    "sim": (*BOARD_FLAGS, *SOLVE_FLAGS, "out", "keep_views", "sim_views", "sim_noise_mm", "sim_noise_deg", "seed"),
}
MAX_SIM_NOISE_MM = 100.0  # --sim: an arm that far off its reported pose is no arm to calibrate
MAX_SIM_NOISE_DEG = 45.0


def source_of(args: argparse.Namespace) -> str:
    """The source flag given (its ``SOURCE_FLAGS`` key): exactly one, argparse's mutually exclusive group."""
    return next(source for source in SOURCE_FLAGS if getattr(args, source) not in (None, False))


def check_flags_used(args: argparse.Namespace) -> None:
    """InputError naming the first flag whose value differs from its default but that the source does not read
    (a flag set to its default changes nothing either way)."""
    from dff_grasp_ros.errors import InputError

    source = source_of(args)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    defaults = vars(parser.parse_args(["--live"]))  # every flag of the command at its default (one source given)
    used = {*SOURCE_FLAGS, *SOURCE_FLAGS[source], "json"}
    for dest, default in defaults.items():
        if dest in used or getattr(args, dest) == default:
            continue
        flag, mode = "--" + dest.replace("_", "-"), "--" + source.replace("_", "-")
        if source == "live":
            parameter = NODE_PARAMETER_FLAGS.get(dest) or ("board_" + dest if dest in BOARD_FLAGS else None)
            why = (f"the hand_eye node's parameter {parameter} sets it" if parameter
                   else "the node collects the views itself") + " (its parameter file, or -p)"
        else:
            why = f"{mode} reads only {', '.join('--' + f.replace('_', '-') for f in SOURCE_FLAGS[source])}"
        raise InputError(f"{flag} is not used by {mode}: {why}; drop it")


def board_spec(args: argparse.Namespace) -> CharucoBoardSpec:
    """The ChArUco board the ``--squares-*``/``--*-length-m``/``--dictionary`` flags describe."""
    from dff_grasp_ros.calibration.board import CharucoBoardSpec

    return CharucoBoardSpec(args.squares_x, args.squares_y, args.square_length_m, args.marker_length_m,
                            args.dictionary)


def check_arguments(args: argparse.Namespace) -> None:
    """The offline calibration's arguments (--views, --from-bag, --sim), before any view is read or rendered;
    InputError naming the flag."""
    from dff_grasp_ros.atomic import check_output_file, check_output_root
    from dff_grasp_ros.errors import InputError
    from dff_grasp_ros.goals import MAX_CALIBRATION_VIEWS
    from dff_grasp_ros.nodes.params import NODE_PARAMS, defaults, name_problem

    specs = {spec.name: spec for spec in NODE_PARAMS["hand_eye"]}
    for attribute, parameter in NODE_PARAMETER_FLAGS.items():
        if getattr(args, attribute) is None:  # --base-frame/--tool-frame not given
            continue
        problem = specs[parameter].check(getattr(args, attribute))
        if problem:
            raise InputError(f"--{attribute.replace('_', '-')} {problem} (the hand_eye parameter {parameter})")
    if args.tool_pose_topic:  # '' = the tool pose from TF
        problem = name_problem("tool_pose_topic", args.tool_pose_topic)
        if problem:
            raise InputError(f"--tool-pose-topic {problem}")
    if args.sim:
        sim = defaults("sim_camera")  # the frames the simulator writes into its views folder
        pose_frames(args, {key: sim[key] for key in FRAME_KEYS}, "the simulator (sim_camera's frames)")
        if not 1 <= args.sim_views <= MAX_CALIBRATION_VIEWS:
            raise InputError(f"--sim-views must be between 1 and {MAX_CALIBRATION_VIEWS}, got {args.sim_views}")
        for flag, value, most in (("--sim-noise-mm", args.sim_noise_mm, MAX_SIM_NOISE_MM),
                                  ("--sim-noise-deg", args.sim_noise_deg, MAX_SIM_NOISE_DEG)):
            if not 0.0 <= value <= most:  # NaN fails too
                raise InputError(f"{flag} must be between 0 and {most:g}, got {value}")
        if not 0 <= args.seed < 2 ** 32:
            raise InputError(f"--seed must be between 0 and {2 ** 32 - 1}, got {args.seed}")
    if args.out is not None:  # before collecting: a result that cannot be written would be lost
        check_output_file(args.out)
    if args.keep_views is not None:  # write_views_folder refuses these too, but only after the views are made
        keep = expand_home(args.keep_views)
        if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
            raise InputError(f"--keep-views {keep} already exists and is not an empty folder; choose a new one")
        check_output_root(keep.parent)


FRAME_KEYS = ("base_frame", "tool_frame")


def pose_frames(args: argparse.Namespace, recorded: dict[str, str | None], source: str) -> tuple[str, str]:
    """(base_frame, tool_frame) of the tool poses ``source`` gives; ``recorded``: the frames it names (None where
    it names none, e.g. a bag: its TF tree has them all). A recorded frame stands: relabelling the poses would
    calibrate the camera against another link than it is mounted on (before 2026-12-03 --views ignored the flags
    and the result was of the folder's frames without a word); --base-frame/--tool-frame naming another frame is
    an InputError naming both. Where ``source`` names none: the flag, else the hand_eye node's parameter."""
    from dff_grasp_ros.errors import InputError
    from dff_grasp_ros.names import frame_name
    from dff_grasp_ros.nodes.params import defaults

    frames = []
    for key in FRAME_KEYS:
        flag, given, own = "--" + key.replace("_", "-"), getattr(args, key), recorded.get(key)
        if own is not None and given is not None and frame_name(given) != frame_name(own):
            raise InputError(f"{flag} {given!r} contradicts {source}, whose tool poses are of {key} {own!r} (recorded "
                             f"poses cannot be relabelled): drop {flag}, or record the views with {key} {given!r}")
        frames.append(own if own is not None else given if given is not None else defaults("hand_eye")[key])
    return frames[0], frames[1]


def default_result_path() -> Path:
    from dff_grasp_ros.nodes.params import defaults, expand_data_dir

    return expand_data_dir(defaults("hand_eye")["calibration_dir"]) / HAND_EYE_FILE


def run(args: argparse.Namespace, truth: Any = None, views_are_temporary: bool = False,
        arguments_checked: bool = False, publish_as: Path | None = None) -> int:
    """Calibrate from ``args.views`` or ``args.from_bag``; ``truth`` (a camera_to_tool) adds the error to it.
    ``views_are_temporary``: the caller removes the views folder unless the result is usable (not named then).
    ``arguments_checked``: the caller ran :func:`check_arguments` before making the views.
    ``publish_as``: ``args.views`` is a staging folder for this folder (absent or empty): the summary names it,
    and the staging (with the result, unless ``--out`` puts it elsewhere) is renamed onto it before printing."""
    from dff_grasp_ros.calibration.output import (
        failure_to_dict,
        rejection_summary,
        result_to_dict,
        write_hand_eye,
    )
    from dff_grasp_ros.calibration.solve import CalibrationError, HandEyeSettings
    from dff_grasp_ros.calibration.views import CollectorSettings, calibrate_collected
    from dff_grasp_ros.capture.bag import BagImportError

    collector = None
    try:
        if not arguments_checked:  # --sim checks once, before rendering (a second check judged its own views)
            check_arguments(args)
        board = board_spec(args)
        collect = CollectorSettings(min_corners=args.min_corners, min_rotation_between_views_deg=args.min_rotation_deg)
        settings = HandEyeSettings(min_views=args.min_views, min_rotation_between_views_deg=args.min_rotation_deg)
        collector, base_frame, tool_frame, views_dir = _collect(args, board, collect)
        result = calibrate_collected(collector, settings)
    except (CalibrationError, BagImportError, ValueError, OSError) as err:
        rejected = collector.rejected if collector is not None else list(getattr(err, "rejected", ()))
        total = collector.rejected_count if collector is not None else None
        if args.json:
            print(json.dumps(failure_to_dict(one_line(err), rejected, total), indent=2))
        print(f"dff-grasp calibrate: {one_line(err)}", file=sys.stderr)
        return 1 if isinstance(err, CalibrationError) else 2
    summary = result_to_dict(result, tool_frame, args.camera_frame, {"base_frame": base_frame,
                                                                      "board": board.to_dict()})
    summary["success"] = result.usable
    summary["message"] = result.verdict
    shown_views = expand_home(publish_as) if publish_as is not None else views_dir
    summary["views_dir"] = str(shown_views) if views_dir and (result.usable or not views_are_temporary) else ""
    summary["rejected_total"] = collector.rejected_count
    if truth is not None:
        from dff_grasp_ros.calibration.solve import transform_difference

        error_mm, error_deg = transform_difference(result.camera_to_tool, truth)
        summary["error_to_truth"] = {"translation_mm": round(error_mm, 4), "rotation_deg": round(error_deg, 5)}
    path = None
    if result.usable:
        path = args.out or (Path(views_dir) / HAND_EYE_FILE if args.sim else default_result_path())
        write_hand_eye(path, summary)
    if publish_as is not None:
        from dff_grasp_ros.atomic import replace_dir

        replace_dir(views_dir, shown_views)
        if path is not None and Path(path).parent == Path(views_dir):
            path = shown_views / Path(path).name
    summary["yaml_path"] = str(path) if path else ""
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary, rejection_summary(collector.rejected, collector.rejected_count))
    return 0 if result.usable else 1


def _collect(args: argparse.Namespace, board: Any, collect: Any) -> tuple[Any, str, str, Path | None]:
    from dff_grasp_ros.calibration.views import TOOL_POSES_FILE, collect_folder, read_views_folder, write_views_folder

    if args.views is not None:
        folder = read_views_folder(args.views)
        base_frame, tool_frame = pose_frames(args, {"base_frame": folder.base_frame, "tool_frame": folder.tool_frame},
                                             str(folder.folder / TOOL_POSES_FILE))  # before reading any image
        return collect_folder(folder, board, collect), base_frame, tool_frame, args.views
    from dff_grasp_ros.calibration.bag import views_from_bag

    base_frame, tool_frame = pose_frames(args, {}, str(args.from_bag))
    collector = views_from_bag(args.from_bag, board, image_topic=args.image_topic,
                               camera_info_topic=args.camera_info_topic, pose_topic=args.tool_pose_topic,
                               base_frame=base_frame, tool_frame=tool_frame, settings=collect,
                               still_time_s=args.still_time, keep_images=True)
    views_dir = args.keep_views or default_result_path().parent / time.strftime("views_%Y%m%d_%H%M%S")
    if collector.views:
        write_views_folder(views_dir, collector.camera, [(f"view_{k:03d}_{v.name}.png", collector.images[v.name],
                                                          v.tool_to_base) for k, v in enumerate(collector.views)],
                           base_frame, tool_frame)
    return collector, base_frame, tool_frame, views_dir if collector.views else None


PRINTER_DPI = (72, 2400)
MAX_BOARD_PIXELS = 400_000_000  # 400 MB of 8-bit image: far beyond any printer's page, short of this PC's memory


def write_board(args: argparse.Namespace) -> int:
    """The board as a PNG whose pixels print at the board's true size at ``args.dpi`` (the DPI is in the file).

    Failures raise (InputError: the CLI's one line, and the failure JSON with ``--json``)."""
    from PIL import Image

    from dff_grasp_ros.atomic import atomic_write_bytes, check_output_file
    from dff_grasp_ros.errors import InputError

    board = board_spec(args)
    if not PRINTER_DPI[0] <= args.dpi <= PRINTER_DPI[1]:
        raise InputError(f"--dpi must be a printer resolution between {PRINTER_DPI[0]} and {PRINTER_DPI[1]}, "
                         f"got {args.dpi}")
    px_per_square = int(round(args.square_length_m / 0.0254 * args.dpi))
    pixels = (board.squares_x + 1) * (board.squares_y + 1) * px_per_square ** 2  # with the half-square margin
    if pixels > MAX_BOARD_PIXELS:
        raise InputError(f"the board at {args.dpi} dpi would be {pixels / 1e6:,.0f} megapixels (at most "
                         f"{MAX_BOARD_PIXELS / 1e6:,.0f}): lower --dpi")
    if args.write_board.suffix.lower() != ".png" or args.write_board.is_dir():
        raise InputError(f"--write-board {args.write_board}: give the .png file to write")
    check_output_file(args.write_board)
    png = io.BytesIO()
    Image.fromarray(board.image(px_per_square)).save(png, format="PNG", dpi=(args.dpi, args.dpi))
    atomic_write_bytes(args.write_board, png.getvalue())  # a full disk leaves no half board to print
    width_mm, height_mm = (side * 1000.0 for side in board.size_m)
    message = (f"{args.write_board}: {board.squares_x}x{board.squares_y} squares of {args.square_length_m * 1000:g} "
               f"mm ({width_mm:g} x {height_mm:g} mm plus a white margin) at {args.dpi} dpi; print at 100 % scale, "
               f"glue it flat and measure a square: its side is board_square_length_m")
    print(json.dumps({"success": True, "message": message, "path": str(args.write_board)}, indent=2)
          if args.json else message)
    return 0


def run_live(args: argparse.Namespace) -> int:
    """``--live``: the node's action; prints the same summary keys as offline (those the action returns)."""
    from dff_grasp_ros.clients import RosCallError, calibrate_hand_eye

    try:
        result = calibrate_hand_eye(args.num_views, args.timeout, str(args.out or ""), quiet=args.json)
    except RosCallError as err:
        if args.json:
            print(json.dumps({"success": False, "message": one_line(err)}, indent=2))
        print(f"dff-grasp calibrate: {one_line(err)}", file=sys.stderr)
        return 2
    answer = {"success": bool(result.success), "message": result.message, "yaml_path": result.yaml_path,
              "static_transform_command": result.static_transform_command, "views_used": int(result.views_used),
              "views_rejected": int(result.views_rejected),
              "rotation_residual_deg": round(float(result.rotation_residual_deg), 4),
              "translation_residual_mm": round(float(result.translation_residual_mm), 3)}
    if args.json:
        print(json.dumps(answer, indent=2))
    elif result.success:
        print(f"{result.message}\n{result.static_transform_command}\nwritten: {result.yaml_path}")
    if not result.success:
        print(f"dff-grasp calibrate: {' '.join(result.message.split())}", file=sys.stderr)
    return 0 if result.success else 1


def _print(summary: dict[str, Any], rejections: str) -> None:
    print(summary["verdict"])
    print(f"{summary['parent_frame']} -> {summary['child_frame']}: translation_m {summary['translation_m']} "
          f"quaternion_xyzw {summary['quaternion_xyzw']} (rpy_deg {summary['rpy_deg']})")
    print(summary["static_transform_command"])
    for view in summary["views"]:
        print(f"  view {view['name']}: reprojection {view['reprojection_rms_px']:.2f} px, board off by "
              f"{view['board_translation_mm']:.2f} mm / {view['board_rotation_deg']:.3f} deg")
    print(f"  {rejections}")
    for rejection in summary["rejected"][-10:]:
        print(f"  rejected {rejection['name']}: {rejection['reason']}")
    if "error_to_truth" in summary:
        error = summary["error_to_truth"]
        print(f"simulation: off the true mount by {error['translation_mm']:.3f} mm and {error['rotation_deg']:.4f} deg")
    if summary["yaml_path"]:
        print(f"written: {summary['yaml_path']}")
    else:
        print("not written: the result is not good enough to use")


def sim_views_dir(args: argparse.Namespace) -> Path:
    """Where ``--sim`` renders its views folder: a hidden staging folder beside ``--keep-views`` (renamed onto it
    by :func:`run`), or a new temporary directory."""
    from dff_grasp_ros.atomic import make_staging_dir

    if args.keep_views is not None:
        keep = expand_home(args.keep_views)
        return make_staging_dir(keep.parent, keep.name)
    return Path(tempfile.mkdtemp(prefix="dff_grasp_calibration_sim_"))
