"""Exporters for generated motion: BVH for Blender (`bvh`) and stick-figure MP4/GIF (`render`)."""
