"""Procedural text-labelled motion on the SMPL-22 skeleton (SPEC §2.2): solo actions and two-person interactions.

Motion is driven by targets, not angles: a timed footstep plan with planted feet locked to their
footprints, a pelvis that follows the feet, analytic two-bone IK for legs and arms, and wrist
targets for gestures and contacts. Clips are joints in metres (Y up, floor y = 0) plus captions.
"""

from intersyn.data.procedural.interaction import INTERACTIONS, PairClip, generate_pair_clip
from intersyn.data.procedural.solo import SOLO_ACTIONS, SoloClip, generate_solo_clip

__all__ = [
    "INTERACTIONS",
    "SOLO_ACTIONS",
    "PairClip",
    "SoloClip",
    "generate_pair_clip",
    "generate_solo_clip",
]
