"""What the NumPy and PyTorch reference programs share: the command line, the worker protocol,
the data sets, the clock and the memory reading.  (Python is only ever used here, in bench/.)

A worker is run as   python3 bench/numpy_cases.py CASE [key=value ...]
and prints one line per figure on stdout, "key<TAB>value", which bench/run.lua reads:
  value    the case's figure in the case's unit (see bench/run.lua)
  rss_kb   VmHWM of the process at the end (peak resident set), when the case is about memory
  note     free text shown under the table
Anything it writes on stderr is shown only when it fails.
"""
import gc
import gzip
import os
import sys
import time

import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def parse_args(argv):
    """CASE key=value ... -> (case, {key: value})"""
    if len(argv) < 2:
        sys.exit("usage: %s CASE [key=value ...]" % argv[0])
    opts = {}
    for a in argv[2:]:
        k, _, v = a.partition("=")
        opts[k] = v
    return argv[1], opts


def emit(key, value):
    if isinstance(value, float):
        value = repr(value)
    print("%s\t%s" % (key, value), flush=True)


def vmhwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


now = time.perf_counter


def per_call(loop, n, batches, min_time=0.05, reset=None):
    """The fastest of `batches` timings of loop(n) (which runs the operation n times, in its own
    loop, as a user's program would), in seconds per operation; n doubles until one batch
    takes at least min_time.  reset(), when given, runs (untimed) before each batch.  The
    fastest batch is the one least disturbed by the rest of the machine; bench/run.lua takes
    the median of these over the repetitions (separate processes)."""
    if reset:
        reset()
    loop(1)
    while True:
        if reset:
            reset()
        t0 = now()
        loop(n)
        dt = now() - t0
        if dt >= min_time:
            break
        n *= 2
    times = [dt / n]
    for _ in range(batches - 1):
        if reset:
            reset()
        t0 = now()
        loop(n)
        times.append((now() - t0) / n)
    return min(times)


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_like(source, split, dtype, n=None, seed=0):
    """X (N x 784, pixels in [0, 1], one sample per row), labels (N, int64, 0-based).
    source "fashion" reads Fashion-MNIST; "random" draws data of the same shape."""
    if source == "fashion":
        prefix = "train" if split == "train" else "t10k"
        images = _read_idx(os.path.join(FASHION_DIR, prefix + "-images-idx3-ubyte.gz"))
        labels = _read_idx(os.path.join(FASHION_DIR, prefix + "-labels-idx1-ubyte.gz"))
        if n is not None:
            images, labels = images[:n], labels[:n]
        X = images.reshape(images.shape[0], -1).astype(dtype)  # one copy, converted
        X /= 255  # in place: no second copy of the data set
        del images
        gc.collect()
        return X, labels.astype(np.int64)
    N = n if n is not None else (60000 if split == "train" else 10000)
    rng = np.random.default_rng(seed)
    X = rng.random((N, 784), dtype=np.float32).astype(dtype, copy=False)
    return X, rng.integers(0, 10, N).astype(np.int64)


def spiral_like(K=4, P=100, seed=0):
    """The spiral data set of the chapter (2 x K*P points, K classes), as rows."""
    rng = np.random.default_rng(seed)
    r = np.linspace(0.0, 1.0, P)
    xs, ys = [], []
    for k in range(K):
        phi = np.pi * r + 0.2 * rng.standard_normal(P) + 2 * np.pi * k / K
        xs.append(np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1))
        ys.append(np.full(P, k))
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def saxe_data(items, hidden, props, seed=0):
    """Sigma_x = I (items x items); Sigma_yx: the depth-2 tree (4 items, 7 properties) for the
    small case, otherwise uniform [0, 1) numbers; W1, W2 small positive (0.01 U[0, 1))."""
    rng = np.random.default_rng(seed)
    X = np.eye(items)
    if (items, props) == (4, 7):
        Y = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0],
                      [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float64)
    else:
        Y = rng.random((props, items))
    W1 = 0.01 * rng.random((hidden, items))
    W2 = 0.01 * rng.random((props, hidden))
    return X, Y, W1, W2


def opt_int(opts, key, default):
    return int(opts[key]) if key in opts and opts[key] != "" else default


def run_case(program, case, opts, cases, float32, float64):
    """Runs the case named on the command line: the cases every peer implements, with the
    peer's own float types, so the two programs list them once."""
    table = {
        "mlp_f32": lambda: cases["mlp"](opts, float32),
        "mlp_f64": lambda: cases["mlp"](opts, float64),
        "spiral": lambda: cases["spiral"](opts),
        "saxe_small": lambda: cases["saxe"](opts, 4, 16, 7),
        "saxe_large": lambda: cases["saxe"](opts, 100, 100, 100),
        "add": lambda: cases["add"](opts, False),
        "add_": lambda: cases["add"](opts, True),
        "svd_f64": lambda: cases["svd"](opts, 1000, 1000, float64),
        "svd_f32": lambda: cases["svd"](opts, 784, 10000, float32),
        "infer_f32": lambda: cases["infer"](opts, float32),
    }
    if case not in table:
        sys.exit("%s: unknown case '%s'" % (program, case))
    table[case]()

