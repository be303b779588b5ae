"""``dff-grasp``: the user's handle on everything (ROS clients and offline tools share one library).

    dff-grasp demo [--scene NAME|FILE] [--device auto|cpu|cuda] [--out DIR]
    dff-grasp bringup [--params FILE] [--sim SCENE] [--device D] [--teacher T] [--end-effectors TOOL ...]
    dff-grasp capture --views N | --from-bag PATH       dff-grasp train [--steps N] [--dataset DIR]
    dff-grasp query "mug handle" [--json]               dff-grasp scenes
    dff-grasp update-scene [--timeout S] [--json]       (after a pick: carve the served scene with a fresh view)
    dff-grasp demo --scene bin --clear                  (clear the bin: pick every object, update, go on)
    dff-grasp sim render --scene NAME|FILE --out DIR    dff-grasp fit --dataset DIR --out DIR [--steps N]
    dff-grasp sim execute --scene S --answer FILE [--prompt P]   (the answer's grasp, executed in physics)
    dff-grasp ask --field DIR "mug handle" [--json]     dff-grasp params [--markdown]
    dff-grasp viewer --field DIR
    dff-grasp calibrate --views DIR | --from-bag PATH | --sim | --live    dff-grasp scan-poses [--count N] [--json]

Every failure is one line on stderr, ``dff-grasp <command>: <what is wrong, naming the file or value>``, and a
non-zero exit status (README "Errors and exit status"); with ``--json`` the answer JSON with ``success: false``
is printed too. ``--debug`` (anywhere before a ``--``) or ``DFF_GRASP_DEBUG=1`` adds the traceback.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}

EXIT_OK = 0
EXIT_ANSWERED_NO = 1  # the command ran and the answer is no: no grasp, a training or capture that failed
EXIT_FAILED = 2  # refused or failed: bad arguments or input, a missing server, a full disk
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM
DEBUG_FLAG = "--debug"
# What ``--json`` prints for a failure, per command (the answer shape of README "Interfaces"); others print
# ``{"success": false, "message": ...}``.
JSON_FAILURE_FIELDS: dict[str, dict[str, Any]] = {
    name: {"grasp": None, "candidates": [], "relevancy_points": 0, "latency_s": 0.0} for name in ("ask", "query")}


class UsageError(ValueError):
    """Arguments argparse refused (its message, without the usage block)."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every writer's cleanup runs (staging folders removed).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way swallows it.
    """


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to read more, no usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def command(name: str) -> Callable:
    def register(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = func
        return func
    return register


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dff-grasp", description="Pick things up by name (ROS 2 + DFF).")
    parser.add_argument(DEBUG_FLAG, action="store_true", help="show the traceback of a failure")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the main job: sim camera -> capture -> train -> query, over ROS")
    p.add_argument("--scene", default="tabletop", help="built-in scene name or scene YAML (default tabletop)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="artifacts directory")
    p.add_argument("--steps", type=int, default=0, help="training steps (0 = the method's default)")
    p.add_argument("--method", default="", help="dff or dff-tiny (default: dff on CUDA, dff-tiny on CPU)")
    p.add_argument("--prompt", action="append", dest="prompts", help="prompt to query (repeatable)")
    p.add_argument("--clear", action="store_true", help="clear the scene: ask for every object by colour and name, "
                   "execute each grasp in physics, take the lifted object out, update the scene, go on")
    p.add_argument("--arm-motion-s", type=float, default=None,
                   help="with --clear: arm motion time per pick assumed for picks per hour (default 6 s)")
    _add_end_effectors(p, "default: the jaws; with --clear: parallel_jaw suction")

    p = sub.add_parser("bringup", help="start capture, trainer and query nodes (and sim_camera with --sim)")
    p.add_argument("--params", type=Path, default=None, help="parameter file (default config/dff_grasp.yaml)")
    p.add_argument("--sim", metavar="SCENE", default=None, help="also start sim_camera on SCENE")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"))
    p.add_argument("--teacher", default=None, help="language teacher: clip, or synthetic (simulated scenes)")
    _add_end_effectors(p, "default: the parameter file's")

    p = sub.add_parser("capture", help="capture views over ROS (/capture_views), or import a bag offline")
    p.add_argument("--views", type=int, default=0, help="views to keep (0 = node default)")
    p.add_argument("--timeout", type=float, default=0.0, help="seconds; 0 = no limit")
    p.add_argument("--from-bag", type=Path, default=None, help="rosbag2 directory or .mcap to import (no ROS)")
    p.add_argument("--out", type=Path, default=None, help="with --from-bag: datasets directory")
    p.add_argument("--image-topic", default="/camera/color/image_raw")
    p.add_argument("--depth-topic", default="/camera/aligned_depth_to_color/image_raw")
    p.add_argument("--camera-info-topic", default="/camera/color/camera_info")
    p.add_argument("--pose-topic", default="/camera/pose")
    p.add_argument("--until-scan-done", action="store_true",
                   help="also stop when the scan driver says the scan has ended (/dff/scan_status)")

    p = sub.add_parser("calibrate", help="eye-in-hand calibration from ChArUco views (folder, bag or --sim)")
    from dff_grasp_ros.calibration.command import add_arguments as add_calibrate_arguments

    add_calibrate_arguments(p)

    p = sub.add_parser("scan-poses", help="camera and tool poses of a scan for MoveIt, over ROS (/scan_poses)")
    p.add_argument("--center", type=float, nargs=3, metavar=("X", "Y", "Z"), default=None,
                   help="workspace centre in the base frame (default: the hand_eye node's scan_center_*)")
    p.add_argument("--radius-m", type=float, default=0.0)
    p.add_argument("--min-elevation-deg", type=float, default=0.0)
    p.add_argument("--max-elevation-deg", type=float, default=0.0)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="train a field over ROS (/train_field)")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--dataset", default="", help="dataset directory ('' = newest)")

    p = sub.add_parser("query", help="ask /query_object over ROS")
    p.add_argument("prompt")
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("update-scene", help="carve the served scene with the next camera view (/dff/update_scene)")
    p.add_argument("--timeout", type=float, default=0.0, help="seconds to wait for a view (0 = the node's)")
    p.add_argument("--json", action="store_true")

    sub.add_parser("scenes", help="list the built-in synthetic scenes")

    p = sub.add_parser("sim", help="synthetic scenes without ROS")
    sim_sub = p.add_subparsers(dest="sim_command", required=True)
    r = sim_sub.add_parser("render", help="render a scene to a dataset (+ ground_truth.json)")
    r.add_argument("--scene", default="tabletop")
    r.add_argument("--out", type=Path, required=True, help="datasets directory; the dataset is a new sub-dir")
    e = sim_sub.add_parser("execute", help="execute an answer's grasp in physics (MuJoCo); print the outcome JSON")
    e.add_argument("--scene", default="tabletop")
    e.add_argument("--answer", type=Path, required=True, help="JSON of 'dff-grasp ask/query --json'")
    e.add_argument("--prompt", default=None, help="what was asked (default: the answer's 'prompt')")

    p = sub.add_parser("fit", help="train a field on a dataset without ROS")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="fields directory; the field is a new sub-dir")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--teacher", default="clip", help="clip, or synthetic (simulated scenes only)")
    p.add_argument("--method", default="dff", help="dff or dff-tiny")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))

    p = sub.add_parser("ask", help="query a trained field without ROS")
    p.add_argument("--field", type=Path, required=True, help="field directory, or a fields directory (newest)")
    p.add_argument("prompt")
    p.add_argument("--threshold", type=float, default=0.0, help="relevancy threshold in (0, 1); 0 = the default")
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    _add_end_effectors(p, "default: the jaws")

    p = sub.add_parser("params", help="print every node parameter")
    p.add_argument("--markdown", action="store_true")

    p = sub.add_parser("viewer", help="web viewer (viser): scene, relevancy and grasp, with a prompt box")
    p.add_argument("--field", type=Path, required=True)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    return parser


def _add_end_effectors(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--end-effectors", nargs="+", default=None, metavar="TOOL",
                        help=f"the query node's tools in the order tried: parallel_jaw, suction ({default})")


def _print_answer(answer: dict[str, Any], as_json: bool, command_name: str) -> int:
    from dff_grasp_ros.clients import dumps

    if as_json:
        print(dumps(answer))
    elif answer["success"]:
        g = answer["grasp"]
        print(f"{answer['message']}\n  grasp in {g['frame_id']}: position_m={g['position_m']} "
              f"quaternion_xyzw={g['quaternion_xyzw']} width_m={g['width_m']} score={g['score']} "
              f"end_effector={g['end_effector']}\n"
              f"  {len(answer['candidates'])} candidates, {answer['relevancy_points']} relevancy points, "
              f"{answer['latency_s'] * 1000:.0f} ms")
    if not answer["success"]:  # the one line, with --json too (README "Errors and exit status")
        print(f"dff-grasp {command_name}: no grasp: {' '.join(answer['message'].split())}", file=sys.stderr)
    return EXIT_OK if answer["success"] else EXIT_ANSWERED_NO


@command("ask")
def cmd_ask(args: argparse.Namespace) -> int:
    from dff_grasp_ros.answers import answer_offline
    from dff_grasp_ros.errors import InputError
    from dff_grasp_ros.query.pipeline import QueryParams
    from dff_grasp_ros.teachers.base import resolve_device

    try:  # a bad argument is refused (exit 2) before the field is loaded, not answered "no grasp" (exit 1)
        QueryParams().with_threshold(args.threshold)
    except ValueError as err:
        raise InputError(f"--threshold {args.threshold:g}: {err} (0 = the default)") from None
    resolve_device(args.device)  # as fit refuses it: --device cuda without a GPU ran quietly on the CPU
    params = QueryParams()
    if args.end_effectors:
        from dff_grasp_ros.bringup import check_end_effectors

        params = QueryParams(end_effectors=tuple(check_end_effectors(args.end_effectors)))
    return _print_answer(answer_offline(args.field, args.prompt, args.threshold, args.device, params=params),
                         args.json, args.command)


@command("query")
def cmd_query(args: argparse.Namespace) -> int:
    from dff_grasp_ros.clients import query_object, response_to_json

    return _print_answer(response_to_json(query_object(args.prompt, args.threshold)), args.json, args.command)


@command("update-scene")
def cmd_update_scene(args: argparse.Namespace) -> int:
    from dff_grasp_ros.clients import dumps, update_scene, update_to_json

    answer = update_to_json(update_scene(args.timeout))
    if args.json:
        print(dumps(answer))
    elif answer["success"]:
        print(answer["message"])
    if not answer["success"]:
        print(f"dff-grasp update-scene: {' '.join(answer['message'].split())}", file=sys.stderr)
    return EXIT_OK if answer["success"] else EXIT_ANSWERED_NO


@command("capture")
def cmd_capture(args: argparse.Namespace) -> int:
    if args.from_bag is not None:
        from dff_grasp_ros.capture.bag import import_bag
        from dff_grasp_ros.nodes.params import defaults, expand_data_dir

        out = args.out or expand_data_dir(defaults("capture")["datasets_dir"])
        topics = {"image": args.image_topic, "depth": args.depth_topic, "camera_info": args.camera_info_topic,
                  "pose": args.pose_topic}
        from dff_grasp_ros.capture.bag import import_summary

        dataset = import_bag(args.from_bag, out, topics)
        print(import_summary(dataset), file=sys.stderr)
        print(dataset)
        return EXIT_OK
    from dff_grasp_ros.clients import capture_views

    result = capture_views(args.views, args.timeout, until_scan_done=args.until_scan_done)
    return _report_goal(args.command, result.success, result.dataset_path, result.message)


@command("calibrate")
def cmd_calibrate(args: argparse.Namespace) -> int:
    from dff_grasp_ros.calibration.command import (
        board_spec,
        check_arguments,
        check_flags_used,
        run,
        run_live,
        sim_views_dir,
        write_board,
    )

    check_flags_used(args)
    if args.write_board:
        return write_board(args)
    if args.live:
        return run_live(args)
    truth = None
    if args.sim:
        check_arguments(args)  # once, before minutes of rendering (run() checks --views and --from-bag)
        from dff_grasp_ros.atomic import discard_dir
        from dff_grasp_ros.progress import progress_bar
        from dff_grasp_ros.synthetic.board import write_simulated_views

        # --keep-views: rendered into a hidden sibling that run() renames once the result is in it, so that a
        # failed run leaves no half folder (and the folder, empty until then, is checked only once).
        args.views = sim_views_dir(args)
        code = 2
        try:
            with progress_bar("render calibration views") as progress:
                truth = write_simulated_views(args.views, args.sim, args.sim_views, args.sim_noise_mm,
                                              args.sim_noise_deg, args.seed, board_spec(args), progress=progress)
            code = run(args, truth, views_are_temporary=args.keep_views is None, arguments_checked=True,
                       publish_as=args.keep_views)
        finally:
            if code != 0 or args.keep_views is not None:
                discard_dir(args.views)  # a temporary folder with no result, or staging run() did not rename
        return code
    return run(args, truth)


@command("scan-poses")
def cmd_scan_poses(args: argparse.Namespace) -> int:
    from dff_grasp_ros.clients import dumps, pose_array_to_json, scan_poses

    reply = scan_poses(args.center, args.radius_m, args.min_elevation_deg, args.max_elevation_deg, args.count)
    answer = {"success": bool(reply.success), "message": reply.message,
              "frame_id": reply.camera_poses.header.frame_id, "camera_poses": pose_array_to_json(reply.camera_poses),
              "tool_poses": pose_array_to_json(reply.tool_poses)}
    if args.json:
        print(dumps(answer))
    elif reply.success:
        print(reply.message)
        for index, pose in enumerate(answer["tool_poses"] or answer["camera_poses"]):
            print(f"  {index:3d} {'tool' if answer['tool_poses'] else 'camera'} position_m={pose['position_m']} "
                  f"quaternion_xyzw={pose['quaternion_xyzw']}")
    if not reply.success:
        print(f"dff-grasp scan-poses: {' '.join(reply.message.split())}", file=sys.stderr)
    return 0 if reply.success else 1


@command("train")
def cmd_train(args: argparse.Namespace) -> int:
    from dff_grasp_ros.clients import train_field

    result = train_field(args.steps, args.dataset)
    return _report_goal(args.command, result.success, result.checkpoint_path, result.message)


def _report_goal(command_name: str, success: bool, path: str, message: str) -> int:
    """An action's outcome for scripts: the written path on stdout, or the server's reason on stderr (as sent:
    the server already says "training failed: ..." or "goal refused: ...")."""
    if success:
        print(path)
        return EXIT_OK
    print(f"dff-grasp {command_name}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ANSWERED_NO


@command("scenes")
def cmd_scenes(args: argparse.Namespace) -> int:
    from dff_grasp_ros.synthetic import list_scenes

    for name, description in list_scenes().items():
        print(f"{name:14s} {description}")
    return 0


class _BarOnFirstReport:
    """A progress callback whose bar appears only once work reports progress: a request refused up front is
    then just its one line, with no empty bar above it. ``close()`` ends the bar (a phase is over)."""

    def __init__(self, open_bar: Callable[[], Any]) -> None:
        self._open_bar, self._stack = open_bar, ExitStack()
        self._bar: Callable[..., None] | None = None

    def __call__(self, *progress: Any) -> None:
        if self._bar is None:
            self._bar = self._stack.enter_context(self._open_bar())
        self._bar(*progress)

    def close(self) -> None:
        self._stack.close()


@contextmanager
def _bar_on_first_report(open_bar: Callable[[], Any]) -> Iterator[_BarOnFirstReport]:
    bar = _BarOnFirstReport(open_bar)
    try:
        yield bar
    finally:
        bar.close()


@command("sim")
def cmd_sim(args: argparse.Namespace) -> int:
    if args.sim_command == "execute":
        return _sim_execute(args)
    from dff_grasp_ros.progress import progress_bar
    from dff_grasp_ros.synthetic import load_scene, render_dataset

    scene = load_scene(args.scene)
    with _bar_on_first_report(lambda: progress_bar("render views")) as progress:
        dataset = render_dataset(scene, args.out, progress=progress)
    print(dataset)
    return 0


def _sim_execute(args: argparse.Namespace) -> int:
    """The outcome as JSON on stdout, also on failure ({"success": false, "message": ...}, exit 2, and the one
    line on stderr as every command's failure)."""
    from dff_grasp_ros.clients import dumps
    from dff_grasp_ros.errors import one_line, read_json_file

    def failed(message: str) -> int:
        message = " ".join(message.split())
        print(dumps({"success": False, "message": message}))
        print(f"dff-grasp sim: {message}", file=sys.stderr)
        return EXIT_FAILED

    try:
        answer = read_json_file(args.answer, "answer")
    except (OSError, ValueError) as err:
        return failed(f"cannot read the answer: {one_line(err)}")
    from dff_grasp_ros.synthetic.judge import answer_pose
    from dff_grasp_ros.synthetic.physics import execute_answer

    try:
        answer_pose(answer)  # the answer's own faults first, said with its file (execute_answer checks it again)
    except ValueError as err:
        return failed(f"answer {args.answer}: {err}")
    try:
        execution = execute_answer(args.scene, answer, args.prompt, record=False)
    except ValueError as err:
        return failed(str(err))
    print(dumps(execution.to_json()))
    return 0


@command("fit")
def cmd_fit(args: argparse.Namespace) -> int:
    from dff_grasp_ros.field.fit import fit
    from dff_grasp_ros.progress import progress_bar, training_bar

    with _bar_on_first_report(lambda: progress_bar("teacher features")) as features, \
            _bar_on_first_report(training_bar) as training:
        def progress(*report: Any) -> None:
            features.close()  # the teachers are done when training reports
            training(*report)

        field_dir = fit(args.dataset, args.out, steps=args.steps or None, teacher=args.teacher,
                        device=args.device, method=args.method, progress=progress,
                        features_progress=lambda teacher, done, total: features(done, total))
    print(field_dir)
    return 0


@command("params")
def cmd_params(args: argparse.Namespace) -> int:
    from dff_grasp_ros.nodes.params import NODE_PARAMS, markdown_table

    if args.markdown:
        print(markdown_table())
    else:
        for node, specs in NODE_PARAMS.items():
            for spec in specs:
                print(f"{node}.{spec.name} = {spec.default!r}  # {spec.description}")
    return 0


@command("bringup")
def cmd_bringup(args: argparse.Namespace) -> int:
    from dff_grasp_ros.bringup import default_params_file, launch_plan, run_until_signal, start

    if args.sim is not None:  # a scene the sim camera cannot load is refused here, not after every node started
        from dff_grasp_ros.synthetic import load_scene

        load_scene(args.sim)
    plan = launch_plan(args.params or default_params_file(), sim_scene=args.sim, device=args.device,
                       teacher=args.teacher, end_effectors=args.end_effectors)
    return run_until_signal(start(plan))


def _check_prompts(prompts: list[str]) -> None:
    """Refuse, before a scan and a training that take a minute, a ``--prompt`` no query could ever answer."""
    from dff_grasp_ros.query.prompt import PromptError, parse_prompt

    for prompt in prompts:
        try:
            parse_prompt(prompt)
        except PromptError as err:
            raise UsageError(f"--prompt {prompt!r}: {err}") from None


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from dff_grasp_ros.demo import run_demo

    if args.clear:
        from dff_grasp_ros.demo import run_clear
        from dff_grasp_ros.synthetic.clearing import DEFAULT_ARM_MOTION_S

        if args.prompts:
            raise UsageError("--clear asks for every object of the scene itself; it takes no --prompt")
        return run_clear(scene=args.scene, device=args.device, out_dir=args.out, steps=args.steps or None,
                         method=args.method or None,
                         arm_motion_s=DEFAULT_ARM_MOTION_S if args.arm_motion_s is None else args.arm_motion_s,
                         end_effectors=args.end_effectors)
    if args.arm_motion_s is not None:
        raise UsageError("--arm-motion-s goes with --clear")
    _check_prompts(args.prompts or [])
    return run_demo(scene=args.scene, device=args.device, out_dir=args.out, steps=args.steps or None,
                    method=args.method or None, prompts=args.prompts, end_effectors=args.end_effectors)


@command("viewer")
def cmd_viewer(args: argparse.Namespace) -> int:
    from dff_grasp_ros.viewer.app import serve_forever

    return serve_forever(args.field, host=args.host, port=args.port)


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` may stand anywhere before a ``--`` (after it, it is a prompt's text)."""
    end = argv.index("--") if "--" in argv else len(argv)
    debug = DEBUG_FLAG in argv[:end] or os.environ.get("DFF_GRASP_DEBUG", "") not in ("", "0")
    return [a for a in argv[:end] if a != DEBUG_FLAG] + argv[end:], debug


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a command runs in the main thread, SIGTERM raises :class:`Terminated` (cleanup runs, then exit 143)."""
    def raise_terminated(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def report_failure(command_name: str, err: BaseException, *, as_json: bool, debug: bool) -> int:
    """The one error path of every command: one line on stderr (and the failure JSON), the exit status."""
    from dff_grasp_ros.errors import is_worded, one_line

    if isinstance(err, KeyboardInterrupt):
        message, status = "interrupted; nothing was published", EXIT_INTERRUPTED
    elif isinstance(err, Terminated):
        message, status = "stopped by SIGTERM; nothing was published", EXIT_TERMINATED
    else:
        message, status = one_line(err), EXIT_FAILED
        if not isinstance(err, UsageError) and not is_worded(err) and not debug:
            message += f" (unexpected; {DEBUG_FLAG} shows the traceback)"
    if debug and not isinstance(err, UsageError):
        traceback.print_exception(err, file=sys.stderr)
    if as_json:
        from dff_grasp_ros.clients import dumps

        print(dumps({"success": False, "message": message, **JSON_FAILURE_FIELDS.get(command_name, {})}))
    print(f"dff-grasp{' ' + command_name if command_name else ''}: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    argv, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    wants_json = "--json" in argv[: argv.index("--") if "--" in argv else len(argv)]
    command_name = next((a for a in argv if a in COMMANDS), "")
    try:
        with _sigterm_raises():
            args = build_parser().parse_args(argv)
            command_name = args.command
            return COMMANDS[args.command](args)
    except SystemExit as done:  # --help and friends
        return EXIT_OK if done.code is None else done.code if isinstance(done.code, int) else EXIT_FAILED
    except BrokenPipeError:
        # The reader left (`... --json | head`): say so once, on stderr. Writing the failure to stdout again (and
        # the interpreter's last flush) would raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"dff-grasp{' ' + command_name if command_name else ''}: output closed by its reader before all of "
              f"it was written", file=sys.stderr)
        return EXIT_FAILED
    except BaseException as err:
        return report_failure(command_name, err, as_json=wants_json, debug=debug)


if __name__ == "__main__":
    raise SystemExit(main())
