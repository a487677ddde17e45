#!/usr/bin/python3
"""torch_compare.py -- digitlens against PyTorch on the same problem.

`make torch-compare` runs this with Debian's /usr/bin/python3 (python3-torch,
python3-numpy).  Both train 784-100-10 with a softmax output and the
log-likelihood cost (PyTorch: nn.CrossEntropyLoss, the mean over the batch;
digitlens: --output softmax --cost log-likelihood, whose update is the batch
mean too), plain SGD, mini-batches of 10, 10 epochs, a fresh shuffle each
epoch, on the MNIST training digits in DATA (../shared/data/mnist holds the
first 10,000) and scored on the real 10,000-image test set, for three hidden
activations and learning rates:

    ReLU eta 0.1,  sigmoid eta 0.5,  tanh eta 0.1

Initialisations differ, and the table says so: PyTorch's nn.Linear draws
weights and biases from U(-1/sqrt(n_in), 1/sqrt(n_in)) (kaiming_uniform_
with a = sqrt(5)); digitlens's default "scaled" init draws weights from
N(0, 1/n_in) and biases from N(0, 1) (Nielsen, chapter 3).  A third column
trains PyTorch from digitlens's init, to tell the init's share of any gap
from the implementation's.

Each cell is the mean test accuracy over SEEDS seeds (default 3; min..max
beside it).  The script exits 1 when digitlens's mean is more than one
point from PyTorch's default for any activation, 0 otherwise, and 0 with a
SKIP line when torch or numpy is not installed.

usage: torch_compare.py [--digitlens BIN] [--data DIR] [--seeds N] [--epochs N]
"""
import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
except ImportError as exc:  # the optional tool is absent: skip, never fail
    print(f"SKIP torch_compare: {exc.name} is not installed (Debian: python3-torch, python3-numpy)")
    sys.exit(0)

CONFIGS = [("relu", 0.1), ("sigmoid", 0.5), ("tanh", 0.1)]


def read_idx(path):
    """An IDX file (.gz or raw) as a numpy array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(dirname, name):
    for cand in (name, name + ".gz"):
        p = os.path.join(dirname, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{dirname}: no {name}[.gz]")


def load(dirname):
    def images(n):
        return read_idx(find(dirname, n)).reshape(-1, 784).astype(np.float32) / np.float32(255.0)

    def labels(n):
        return read_idx(find(dirname, n)).astype(np.int64)

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def torch_run(act, eta, seed, epochs, data, init):
    """Test accuracy (%) of PyTorch SGD from `init` ("pytorch" or "digitlens")."""
    xtr, ytr, xte, yte = (torch.from_numpy(a) for a in data)
    torch.manual_seed(seed)
    f = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[act]
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), f(), torch.nn.Linear(100, 10))
    if init == "digitlens":
        with torch.no_grad():
            for layer in (net[0], net[2]):
                layer.weight.normal_(0.0, layer.in_features ** -0.5)
                layer.bias.normal_(0.0, 1.0)
    opt = torch.optim.SGD(net.parameters(), lr=eta)
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + negative log-likelihood, batch mean
    n = xtr.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n)
        for i in range(0, n, 10):
            idx = order[i:i + 10]
            opt.zero_grad()
            loss_fn(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
    with torch.no_grad():
        pred = net(xte).argmax(dim=1)
    return 100.0 * (pred == yte).float().mean().item()


def digitlens_run(binary, datadir, act, eta, seed, epochs, tmp):
    out = os.path.join(tmp, f"{act}-{seed}.dlm")
    subprocess.run([binary, "train", "--data", datadir, "--layers", "784,100,10", "--activation", act,
                    "--output", "softmax", "--cost", "log-likelihood", "--eta", str(eta), "--batch", "10",
                    "--epochs", str(epochs), "--seed", str(seed), "--quiet", "--out", out], check=True)
    res = subprocess.run([binary, "test", "--model", out, "--data", datadir, "--json"], check=True,
                         capture_output=True, text=True)
    return 100.0 * json.loads(res.stdout)["accuracy"]


def cell(values):
    return f"{sum(values) / len(values):5.2f}% ({min(values):.2f}..{max(values):.2f})"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--digitlens", default=os.path.join(root, "digitlens"))
    default_data = os.path.join(root, "data", "mnist")
    if not os.path.exists(os.path.join(default_data, "t10k-labels-idx1-ubyte.gz")):
        default_data = os.path.join(root, "..", "shared", "data", "mnist")
    ap.add_argument("--data", default=default_data)
    ap.add_argument("--seeds", type=int, default=int(os.environ.get("TORCH_COMPARE_SEEDS", "3")))
    ap.add_argument("--epochs", type=int, default=10)
    a = ap.parse_args()
    try:
        data = load(a.data)
    except (OSError, ValueError) as exc:
        print(f"SKIP torch_compare: {exc} (make data)")
        return 0
    if not os.access(a.digitlens, os.X_OK):
        print(f"torch_compare: {a.digitlens} is not built (make)", file=sys.stderr)
        return 2
    ver = subprocess.run([a.digitlens, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"digitlens vs PyTorch {torch.__version__} ({torch.get_num_threads()} thread(s)) on "
          f"{platform.processor() or platform.machine()}; {ver}")
    print(f"784-100-10, softmax + log-likelihood, SGD, batch 10, {a.epochs} epochs, "
          f"{data[0].shape[0]} training digits, scored on {data[2].shape[0]} test digits; "
          f"mean test accuracy over seeds 1..{a.seeds} (min..max)")
    print("init: PyTorch nn.Linear: U(-1/sqrt(n_in), 1/sqrt(n_in)) weights and biases; "
          "digitlens: weights N(0, 1/n_in), biases N(0, 1)\n")
    head = f"| {'hidden':8} | {'eta':>4} | {'PyTorch (its init)':24} | {'PyTorch (digitlens init)':24} | " \
           f"{'digitlens':24} | {'digitlens - PyTorch':>19} |"
    print(head)
    print("|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|")
    worst = 0.0
    timing = []
    with tempfile.TemporaryDirectory() as tmp:
        for act, eta in CONFIGS:
            t, tdl, dl = [], [], []
            secs = [0.0, 0.0]
            for seed in range(1, a.seeds + 1):
                t0 = time.perf_counter()
                t.append(torch_run(act, eta, seed, a.epochs, data, "pytorch"))
                secs[0] += time.perf_counter() - t0
                tdl.append(torch_run(act, eta, seed, a.epochs, data, "digitlens"))
                t0 = time.perf_counter()
                dl.append(digitlens_run(a.digitlens, a.data, act, eta, seed, a.epochs, tmp))
                secs[1] += time.perf_counter() - t0
            gap = sum(dl) / len(dl) - sum(t) / len(t)
            worst = max(worst, abs(gap))
            print(f"| {act:8} | {eta:4g} | {cell(t):24} | {cell(tdl):24} | {cell(dl):24} | {gap:+19.2f} |", flush=True)
            timing.append(f"{act}: PyTorch {secs[0] / a.seeds:.1f} s, digitlens {secs[1] / a.seeds:.1f} s")
    print(f"\nseconds a run ({a.epochs} epochs and the test set; digitlens as a process, train then test): " + "; ".join(timing))
    ok = worst <= 1.0
    print(f"digitlens within one point of PyTorch for every activation: {'yes' if ok else 'NO'} "
          f"(largest gap {worst:.2f} points)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
