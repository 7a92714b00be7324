"""The NumPy reference programs of `make bench`, written the way a student writes them: plain
arrays, one sample per row (x @ W + b), manual backpropagation, Adam by hand.

    /usr/bin/python3 bench/numpy_cases.py CASE [key=value ...]

Cases and options: see bench/run.lua (it runs this file); the output protocol is in
bench/peer_common.py.  BLAS threads come from OPENBLAS_NUM_THREADS (run.lua sets 2 or 1).
The MLP cases gather each shuffled batch by index (X[idx]); shuffle=copy instead makes a
shuffled copy of the whole data set each epoch (X[perm], the other common way), which costs
one more copy of the data in peak memory.  run.lua uses the default.
"""
import sys

import numpy as np

from peer_common import (run_case, emit, mnist_like, now, opt_int, parse_args, per_call, saxe_data,
                         spiral_like, vmhwm_kb)



# ---- the 784-256-256-10 MLP -------------------------------------------------------------------
def he_init(rng, sizes, dtype):
    W = [(rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(dtype)
         for m, n in zip(sizes[:-1], sizes[1:])]
    b = [np.zeros(n, dtype=dtype) for n in sizes[1:]]
    return W, b


def forward(W, b, x):
    """Activities of every layer; the last entry is the logits."""
    zs = [x]
    for l in range(len(W)):
        u = zs[-1] @ W[l] + b[l]
        zs.append(np.maximum(u, 0) if l < len(W) - 1 else u)
    return zs


class Adam:
    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.lr, self.beta1, self.beta2, self.eps = params, lr, beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            m_hat = self.m[i] / (1 - b1 ** self.t)
            v_hat = self.v[i] / (1 - b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def train_step(W, b, opt, x, y):
    """Forward, softmax cross-entropy, backward, Adam.  Returns the batch's mean loss."""
    n = x.shape[0]
    zs = forward(W, b, x)
    logits = zs[-1]
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) - logits[np.arange(n), y]))
    d = e / s                      # softmax
    d[np.arange(n), y] -= 1        # dL/dlogits = (p - onehot) / n
    d /= n
    gW, gb = [None] * len(W), [None] * len(W)
    for l in range(len(W) - 1, -1, -1):
        gW[l] = zs[l].T @ d
        gb[l] = d.sum(axis=0)
        if l > 0:
            d = (d @ W[l].T) * (zs[l] > 0)
    opt.step(gW + gb)
    return loss


def case_mlp(opts, dtype):
    X, y = mnist_like(opts.get("data", "random"), "train", dtype)
    N, B = X.shape[0], 128
    samples = opt_int(opts, "samples", N)
    rng = np.random.default_rng(1)
    W, b = he_init(rng, [784, 256, 256, 10], dtype)
    opt = Adam(W + b)
    for _ in range(3):  # warm-up (not timed)
        train_step(W, b, opt, X[:B], y[:B])
    t0 = now()
    perm = rng.permutation(N)
    total = 0.0
    if opts.get("shuffle", "index") == "copy":
        # the other way students shuffle: a shuffled copy of the whole data set per epoch
        Xs, ys = X[perm], y[perm]
        for i in range(0, samples, B):
            total += train_step(W, b, opt, Xs[i:i + B], ys[i:i + B])
    else:
        # gather each batch by index (the default here: cheaper in memory, as fast)
        for i in range(0, samples, B):
            idx = perm[i:i + B]
            total += train_step(W, b, opt, X[idx], y[idx])
    dt = now() - t0
    emit("value", dt * N / samples)  # seconds per epoch of N samples
    emit("rss_kb", vmhwm_kb())
    emit("check", total)


# ---- the spiral network, 2-32-4, SGD with weight decay on the weights ---------------------
def case_spiral(opts):
    X, y = spiral_like()
    N, B = X.shape[0], 10
    rng = np.random.default_rng(1)
    W, b = he_init(rng, [2, 32, 4], np.float64)
    lr, wd = 0.1, 1e-4

    def sgd(grads_W, grads_b):
        for l in range(len(W)):
            W[l] -= lr * (grads_W[l] + wd * W[l])
            b[l] -= lr * grads_b[l]

    class SGD:
        def step(self, grads):
            sgd(grads[:len(W)], grads[len(W):])

    opt = SGD()

    def epochs(count):
        for _ in range(count):
            perm = rng.permutation(N)
            for i in range(0, N, B):
                idx = perm[i:i + B]
                train_step(W, b, opt, X[idx], y[idx])

    steps = (N + B - 1) // B
    t = per_call(epochs, 1, opt_int(opts, "batches", 5))
    emit("value", steps / t)  # steps per second


# ---- one Euler step of the deep linear dynamics (Saxe) -------------------------------------
def case_saxe(opts, items, hidden, props):
    X, Y, W1_0, W2_0 = saxe_data(items, hidden, props)
    W1, W2 = W1_0.copy(), W2_0.copy()
    h = 0.005

    def steps(count):
        nonlocal W1, W2
        for _ in range(count):
            A = W1 @ X
            M = W2 @ A
            E = Y - M
            W1 += h * (W2.T @ E)   # W1 += h W2^T E
            W2 += h * (E @ W1.T)   # W2 += h E W1^T (with the new W1)

    def reset():
        W1[...] = W1_0
        W2[...] = W2_0

    t = per_call(steps, 1000, opt_int(opts, "batches", 5), reset=reset)
    emit("value", t * 1e6)  # microseconds per step


# ---- tiny element-wise operations ----------------------------------------------------------
def case_add(opts, inplace):
    rng = np.random.default_rng(1)
    a, b = rng.random((4, 4)), rng.random((4, 4)) * 1e-6
    batches = opt_int(opts, "batches", 5)
    if not inplace:
        def op(n):
            for _ in range(n):
                c = a + b  # noqa: F841
        emit("value", per_call(op, 10000, batches) * 1e9)
        return
    # in place: the faster of the two spellings is reported

    def op_iadd(n):
        nonlocal a
        for _ in range(n):
            a += b

    def op_out(n):
        for _ in range(n):
            np.add(a, b, out=a)
    t1 = per_call(op_iadd, 10000, batches)
    t2 = per_call(op_out, 10000, batches)
    emit("value", min(t1, t2) * 1e9)
    emit("note", "numpy in-place add: a += b %.0f ns, np.add(a, b, out=a) %.0f ns"
         % (t1 * 1e9, t2 * 1e9))


# ---- thin SVD ------------------------------------------------------------------------------
def case_svd(opts, m, n, dtype):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((m, n)).astype(dtype)
    if opts.get("warmup", "1") == "1":
        np.linalg.svd(A, full_matrices=False)
    t0 = now()
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    emit("value", now() - t0)
    emit("check", float(S[0]))


# ---- inference: forward of the 784-256-256-10 MLP over the 10 000 test images ----------------
def case_infer(opts, dtype):
    X, _ = mnist_like(opts.get("data", "random"), "test", dtype)
    rng = np.random.default_rng(1)
    W, b = he_init(rng, [784, 256, 256, 10], dtype)

    def run(n):
        for _ in range(n):
            forward(W, b, X)
    emit("value", per_call(run, 1, opt_int(opts, "batches", 5), min_time=0.0) * 1e3)  # ms


def main():
    case, opts = parse_args(sys.argv)
    cases = {"mlp": case_mlp, "spiral": case_spiral, "saxe": case_saxe,
             "add": case_add, "svd": case_svd, "infer": case_infer}
    run_case("numpy_cases.py", case, opts, cases, np.float32, np.float64)


if __name__ == "__main__":
    main()
