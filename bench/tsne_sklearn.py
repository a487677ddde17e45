#!/usr/bin/env python3
"""tsne_sklearn.py — scikit-learn's side of the t-SNE benchmark (make bench).

    tsne_sklearn.py VECTORS.f32 D OUT.f32 [--perplexity P] [--iterations N] [--threads T]
                    [--pca-runs R]

Reads raw little-endian float32 rows of D values (what bench_embed dump
writes), runs sklearn.manifold.TSNE exactly as digitlens runs its own
(Barnes-Hut, angle 0.5, PCA initialisation, learning rate "auto", early
exaggeration 12 for 250 iterations), writes the map as raw float32 [N x 2]
and prints "sklearn_seconds S" (the fit alone, neighbours included) and
"sklearn_kl KL".  With --pca-runs R (default 0) it first times R fits of
sklearn.decomposition.PCA(2, svd_solver="full"), the exact solver like
digitlens's (an SVD of the centred data through LAPACK), and prints the
median "sklearn_pca_seconds S" and "sklearn_pca_explained V1 V2".  T threads: n_jobs for the neighbour search and
OMP_NUM_THREADS for the gradient (set before scikit-learn is imported).
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("vectors")
ap.add_argument("dims", type=int)
ap.add_argument("out")
ap.add_argument("--perplexity", type=float, default=30.0)
ap.add_argument("--iterations", type=int, default=1000)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--pca-runs", type=int, default=0)
a = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(a.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
# Threads that sleep while they wait (digitlens's do): OpenMP's default
# spin-waiting collapses when the machine is shared.  Measured here (1,500
# MNIST images, 2 threads, load average 8 on 2 cores): 115 s spinning,
# 29 s passive, 33 s on one thread.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

X = np.fromfile(a.vectors, dtype="<f4").reshape(-1, a.dims)
print(f"sklearn_version {sklearn.__version__}")
if a.pca_runs > 0:
    times = []
    for _ in range(a.pca_runs):
        t0 = time.perf_counter()
        pca = PCA(n_components=2, svd_solver="full").fit(X)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"sklearn_pca_seconds {times[len(times) // 2]:.4f}")
    print(f"sklearn_pca_explained {pca.explained_variance_ratio_[0]:.4f} {pca.explained_variance_ratio_[1]:.4f}")
    sys.stdout.flush()
t0 = time.perf_counter()
tsne = TSNE(n_components=2, perplexity=a.perplexity, n_iter=a.iterations, method="barnes_hut", angle=0.5,
            init="pca", learning_rate="auto", early_exaggeration=12.0, n_jobs=a.threads, random_state=0)
Y = tsne.fit_transform(X)
dt = time.perf_counter() - t0
Y.astype("<f4").tofile(a.out)
print(f"sklearn_seconds {dt:.3f}")
print(f"sklearn_kl {tsne.kl_divergence_:.4f}")
sys.stdout.flush()
