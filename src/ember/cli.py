"""The ``ember`` command (also ``python -m ember``): ``ember info`` and ``ember demo``.

>>> args = build_parser().parse_args(["demo", "--quick", "--out", "runs/demo"])
>>> args.quick, args.out, args.epochs
(True, 'runs/demo', None)
>>> info = collect_info()
>>> info["dispatcher"] in ("C", "Python") or info["dispatcher"].startswith("Python (")
True
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata

# Optional packages and what ember uses each for (distribution name -> purpose).
EXTRAS = {
    "tqdm": "progress bars in fit()",
    "matplotlib": "History.plot()",
    "tensorboardX": "the TensorBoard callback",
    "tensorboard": "viewing TensorBoard logs",
    "threadpoolctl": "BLAS thread control and `ember info`",
    "scikit-learn": "the digits dataset",
    "mnist1d": "the MNIST-1D dataset",
    "onnx": "ONNX export and import",
    "onnxruntime": "running exported ONNX models",
    "torch": "the reference in ember's own tests",
}
FASHION_HINT = "sudo apt-get install dataset-fashion-mnist"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _blas_info() -> dict:
    import numpy as np  # loads the BLAS library, so threadpoolctl can see it

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return {
            "library": deps.get("name", "unknown"),
            "version": deps.get("version", "unknown"),
            "source": "numpy.show_config (install threadpoolctl for the kernel and threads)",
        }
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return {"library": "none found"}
    pool = pools[0]
    return {
        "library": pool.get("internal_api"),
        "version": pool.get("version"),
        "kernel": pool.get("architecture"),
        "threads": pool.get("num_threads"),
        "path": pool.get("filepath"),
    }


def _fashion_mnist() -> dict:
    from ember.datasets.sources import FASHION_MNIST_DIRS

    for folder in FASHION_MNIST_DIRS:
        if os.path.isdir(folder) and any("idx" in name for name in os.listdir(folder)):
            return {"installed": True, "path": folder}
    return {"installed": False, "install": FASHION_HINT}


def collect_info() -> dict:
    """Versions, BLAS, CPUs, datasets and optional packages, as a JSON-ready dict."""
    import numpy as np

    import ember
    import ember.native
    from ember.native import dispatch as native_dispatch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    names = ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "EMBER_NATIVE", "CC")
    env = {k: os.environ[k] for k in names if k in os.environ}
    return {
        "ember": {"version": ember.__version__, "path": os.path.dirname(ember.__file__)},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "numpy": np.__version__,
        "blas": _blas_info(),
        "native_kernels": ember.native.status(),
        "dispatcher": native_dispatch.status(),
        "environment": env,
        "cpus": {"count": os.cpu_count(), "usable": usable, "machine": platform.machine()},
        "fashion_mnist": _fashion_mnist(),
        "extras": {name: _version(name) for name in EXTRAS},
    }


def format_info(info: dict) -> str:
    """The human-readable ``ember info`` report."""
    blas = info["blas"]
    blas_line = " ".join(str(blas[k]) for k in ("library", "version") if blas.get(k))
    if blas.get("kernel"):
        blas_line += f", kernel {blas['kernel']}, {blas['threads']} threads"
    if blas.get("source"):
        blas_line += f" ({blas['source']})"
    cpus = info["cpus"]
    fm = info["fashion_mnist"]
    fm_line = f"installed ({fm['path']})" if fm["installed"] else f"not installed: {fm['install']}"
    rows = [
        ("ember", f"{info['ember']['version']} ({info['ember']['path']})"),
        ("Python", f"{info['python']['version']} ({info['python']['executable']})"),
        ("NumPy", info["numpy"]),
        ("BLAS", blas_line),
        ("C kernels", info["native_kernels"]),
        ("Dispatcher", info["dispatcher"]),
        ("CPUs", f"{cpus['count']} ({cpus['usable']} usable, {cpus['machine']})"),
        ("Fashion-MNIST", fm_line),
    ]
    rows += [(k, v) for k, v in info["environment"].items()]
    lines = [f"{k:<14}{v}" for k, v in rows]
    lines.append("optional packages:")
    for name, version in info["extras"].items():
        lines.append(f"  {name:<14}{version or 'not installed':<16}{EXTRAS[name]}")
    return "\n".join(lines)


def _cmd_info(args) -> int:
    info = collect_info()
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def _cmd_demo(args) -> int:
    from ember.demo import run

    run(
        epochs=args.epochs,
        quick=args.quick,
        out=args.out,
        dataset=args.dataset,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        tensorboard=args.tensorboard,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ember`` command."""
    from ember import __version__

    parser = argparse.ArgumentParser(
        prog="ember",
        description="ember: a deep-learning framework, eager like PyTorch, trains like Keras.",
    )
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="show versions, BLAS, CPUs, datasets and optional packages")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser(
        "demo",
        help="train LeNet-5 on Fashion-MNIST, plot, checkpoint and reload it",
        description="Train LeNet-5 on Fashion-MNIST (digits when it is not installed), print "
        "the test accuracy, save the history plot and a safetensors checkpoint, and reload "
        "the checkpoint into a fresh model.",
    )
    demo.add_argument(
        "--epochs", type=_positive, default=None, help="epochs (default 2; 10 on digits)"
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="a 4,000-image subset and 1 epoch (3 on digits): seconds",
    )
    demo.add_argument(
        "--out", default="ember-demo", metavar="DIR", help="output folder (default ./ember-demo)"
    )
    demo.add_argument(
        "--dataset",
        choices=("auto", "fashion-mnist", "digits"),
        default="auto",
        help="auto: Fashion-MNIST when installed, else digits",
    )
    demo.add_argument("--batch-size", type=_positive, default=64, help="default 64")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--tensorboard", action="store_true", help="also write TensorBoard logs to DIR/logs"
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_cmd_demo)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv=None) -> int:
    """Run the ``ember`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from ember.errors import EmberError

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"ember {args.command}: interrupted", file=sys.stderr)
        return 130
    except (EmberError, OSError, ImportError, ValueError) as exc:
        print(f"ember {args.command}: error: {exc}", file=sys.stderr)
        return 1
