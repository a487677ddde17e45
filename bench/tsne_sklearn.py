#!/usr/bin/env python3
"""tsne_sklearn.py — scikit-learn's side of the t-SNE benchmark (make bench).

    tsne_sklearn.py VECTORS.f32 D OUT.f32 [--perplexity P] [--iterations N] [--threads T]

Reads raw little-endian float32 rows of D values (what bench_embed dump
writes), runs sklearn.manifold.TSNE exactly as digitlens runs its own
(Barnes-Hut, angle 0.5, PCA initialisation, learning rate "auto", early
exaggeration 12 for 250 iterations), writes the map as raw float32 [N x 2]
and prints "sklearn_seconds S" (the fit alone, neighbours included) and
"sklearn_kl KL".  T threads: n_jobs for the neighbour search and
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
a = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(a.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

X = np.fromfile(a.vectors, dtype="<f4").reshape(-1, a.dims)
t0 = time.perf_counter()
tsne = TSNE(n_components=2, perplexity=a.perplexity, n_iter=a.iterations, method="barnes_hut", angle=0.5,
            init="pca", learning_rate="auto", early_exaggeration=12.0, n_jobs=a.threads, random_state=0)
Y = tsne.fit_transform(X)
dt = time.perf_counter() - t0
Y.astype("<f4").tofile(a.out)
print(f"sklearn_version {sklearn.__version__}")
print(f"sklearn_seconds {dt:.3f}")
print(f"sklearn_kl {tsne.kl_divergence_:.4f}")
sys.stdout.flush()
