"""Repository-wide pytest set-up: one intra-op torch thread (2-core machines run small ops
50-150x slower with two) and a headless matplotlib backend."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(1)
