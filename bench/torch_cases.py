"""The PyTorch reference programs of `make bench`, written idiomatically: nn.Sequential of
nn.Linear / nn.ReLU, nn.CrossEntropyLoss, torch.optim.Adam / SGD, autograd; data held in memory
as tensors, each epoch a torch.randperm and one index per batch (faster than a DataLoader over
a TensorDataset, which collates sample by sample).

    /usr/bin/python3 bench/torch_cases.py CASE [key=value ...]

Options beside the case's own (see bench/run.lua): threads=N sets torch.set_num_threads(N)
(intra-op threads; default 1); OpenBLAS's own threads come from OPENBLAS_NUM_THREADS.  On 2
cores, 1 intra-op thread with OpenBLAS on 2 is PyTorch's best (2 and 2 oversubscribe).
"""
import sys

import numpy as np
import torch
from torch import nn

from peer_common import (run_case, emit, mnist_like, now, opt_int, parse_args, per_call, saxe_data,
                         spiral_like, vmhwm_kb)



def mlp(sizes, dtype):
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(m, n))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(dtype)


def make_step(model, opt, loss_fn):
    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def case_mlp(opts, dtype):
    Xn, yn = mnist_like(opts.get("data", "random"), "train", np.float32 if dtype ==
                        torch.float32 else np.float64)
    X, y = torch.from_numpy(Xn), torch.from_numpy(yn)  # no copies
    N, B = X.shape[0], 128
    samples = opt_int(opts, "samples", N)
    torch.manual_seed(1)
    model = mlp([784, 256, 256, 10], dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3,
                           foreach=opts.get("foreach", "0") == "1")
    step = make_step(model, opt, nn.CrossEntropyLoss())
    for _ in range(3):  # warm-up (not timed)
        step(X[:B], y[:B])
    t0 = now()
    perm = torch.randperm(N)
    total = 0.0
    for i in range(0, samples, B):
        idx = perm[i:i + B]
        total += step(X[idx], y[idx])
    dt = now() - t0
    emit("value", dt * N / samples)
    emit("rss_kb", vmhwm_kb())
    emit("check", total)


def case_spiral(opts):
    Xn, yn = spiral_like()
    X, y = torch.from_numpy(Xn), torch.from_numpy(yn)
    N, B = X.shape[0], 10
    torch.manual_seed(1)
    model = mlp([2, 32, 4], torch.float64)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": 1e-4},
                           {"params": biases, "weight_decay": 0.0}], lr=0.1)
    step = make_step(model, opt, nn.CrossEntropyLoss())

    def epochs(count):
        for _ in range(count):
            perm = torch.randperm(N)
            for i in range(0, N, B):
                idx = perm[i:i + B]
                step(X[idx], y[idx])

    steps = (N + B - 1) // B
    emit("value", steps / per_call(epochs, 1, opt_int(opts, "batches", 5)))


def case_saxe(opts, items, hidden, props):
    X, Y, W1_0, W2_0 = (torch.from_numpy(a) for a in saxe_data(items, hidden, props))
    W1, W2 = W1_0.clone(), W2_0.clone()
    h = 0.005

    def steps(count):
        for _ in range(count):
            A = W1 @ X
            M = W2 @ A
            E = Y - M
            W1.add_(W2.T @ E, alpha=h)   # W1 += h W2^T E
            W2.add_(E @ W1.T, alpha=h)   # W2 += h E W1^T (with the new W1)

    def reset():
        W1.copy_(W1_0)
        W2.copy_(W2_0)

    with torch.no_grad():
        t = per_call(steps, 1000, opt_int(opts, "batches", 5), reset=reset)
    emit("value", t * 1e6)


def case_add(opts, inplace):
    torch.manual_seed(1)
    a = torch.rand(4, 4, dtype=torch.float64)
    b = torch.rand(4, 4, dtype=torch.float64) * 1e-6
    if inplace:
        def op(n):
            for _ in range(n):
                a.add_(b)
    else:
        def op(n):
            for _ in range(n):
                c = a + b  # noqa: F841
    emit("value", per_call(op, 10000, opt_int(opts, "batches", 5)) * 1e9)


def case_svd(opts, m, n, dtype):
    torch.manual_seed(1)
    A = torch.randn(m, n, dtype=dtype)
    if opts.get("warmup", "1") == "1":
        torch.linalg.svd(A, full_matrices=False)
    t0 = now()
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    emit("value", now() - t0)
    emit("check", float(S[0]))


def case_infer(opts, dtype):
    Xn, _ = mnist_like(opts.get("data", "random"), "test", np.float32)
    X = torch.from_numpy(Xn)
    torch.manual_seed(1)
    model = mlp([784, 256, 256, 10], dtype)
    model.eval()

    def run(n):
        with torch.inference_mode():
            for _ in range(n):
                model(X)
    emit("value", per_call(run, 1, opt_int(opts, "batches", 5), min_time=0.0) * 1e3)


def main():
    case, opts = parse_args(sys.argv)
    torch.set_num_threads(opt_int(opts, "threads", 1))
    cases = {"mlp": case_mlp, "spiral": case_spiral, "saxe": case_saxe,
             "add": case_add, "svd": case_svd, "infer": case_infer}
    run_case("torch_cases.py", case, opts, cases, torch.float32, torch.float64)
    emit("threads", "torch intra-op %d, inter-op %d" % (torch.get_num_threads(),
                                                       torch.get_num_interop_threads()))


if __name__ == "__main__":
    main()
