"""Datasets: official-layout loaders, the procedural generator and the interleave function U(·)."""
