"""InterSyn: text-driven motion synthesis interleaving solo actions with multi-person interactions."""

from intersyn.errors import InterSynError
from intersyn.kinematics.fk import retarget
from intersyn.kinematics.representation import features_to_joints, joints_to_features

__version__ = "0.1.0"

__all__ = ["InterSynError", "__version__", "features_to_joints", "joints_to_features", "retarget"]
