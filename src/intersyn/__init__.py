"""InterSyn: text-driven motion synthesis interleaving solo actions with multi-person interactions."""

from intersyn.errors import InterSynError
from intersyn.kinematics.fk import retarget
from intersyn.kinematics.representation import features_to_joints, joints_to_features

__version__ = "0.1.0"

__all__ = [
    "InterSynError",
    "InterSynPipeline",
    "__version__",
    "features_to_joints",
    "joints_to_features",
    "retarget",
]


def __getattr__(name: str):
    # The pipeline pulls in the models and exporters: import it only when asked for.
    if name == "InterSynPipeline":
        from intersyn.pipeline import InterSynPipeline

        return InterSynPipeline
    raise AttributeError(f"module 'intersyn' has no attribute {name!r}")
