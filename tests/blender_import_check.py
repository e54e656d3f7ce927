"""Run inside Blender: import BVH files with the default options and dump world joint positions.

    blender -b --factory-startup --python tests/blender_import_check.py -- OUT.json A.bvh [B.bvh ...]

For every file it writes `{"armature", "fps", "frame_start", "frame_end", "bones",
"positions"}` where `positions[f][b]` is `armature.matrix_world @ pose_bone.head` (Blender world
coordinates, Z up) at scene frame `frame_start + f`. Importer defaults are kept (scale 1,
forward −Z, up Y, rotation mode NATIVE, start frame 1); the scene frame rate is taken from the file.
"""

from __future__ import annotations

import builtins
import json
import sys

import bpy


def _open_without_u(original):
    """Blender 3.4's importer opens with mode 'rU', which Python 3.11 rejects; drop the 'U'."""

    def patched(file, mode="r", *args, **kwargs):
        if isinstance(mode, str) and "U" in mode:
            mode = mode.replace("U", "") or "r"
        return original(file, mode, *args, **kwargs)

    return patched


def main(argv: list[str]) -> None:
    out_path, bvh_paths = argv[0], argv[1:]
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj, do_unlink=True)
    scene = bpy.context.scene
    original_open = builtins.open
    builtins.open = _open_without_u(original_open)
    results = []
    try:
        for path in bvh_paths:
            before = set(bpy.data.objects)
            result = bpy.ops.import_anim.bvh(
                filepath=path, update_scene_fps=True, update_scene_duration=True
            )
            if result != {"FINISHED"}:
                raise RuntimeError(f"import of {path} returned {result}")
            (armature,) = [o for o in bpy.data.objects if o not in before and o.type == "ARMATURE"]
            action = armature.animation_data.action
            first, last = (int(round(v)) for v in action.frame_range)
            results.append(
                {
                    "file": path,
                    "armature": armature.name,
                    "objects_created": len(set(bpy.data.objects) - before),
                    "fps": scene.render.fps / scene.render.fps_base,
                    "frame_start": first,
                    "frame_end": last,
                    "bones": [bone.name for bone in armature.pose.bones],
                    "root_bones": [b.name for b in armature.pose.bones if b.parent is None],
                    "positions": [],
                }
            )
            for frame in range(first, last + 1):
                scene.frame_set(frame)
                world = armature.matrix_world
                results[-1]["positions"].append(
                    [list(world @ bone.head) for bone in armature.pose.bones]
                )
    finally:
        builtins.open = original_open
    with original_open(out_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1 :])
