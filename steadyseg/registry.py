"""steadyseg's registries, each a child of mmseg's.

A config whose ``default_scope`` is ``'steadyseg'`` finds our components first and falls back to
mmseg's (and through them mmengine's), so any mmseg backbone or head can be used by ``type=`` beside ours.
"""

from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS

SCOPE = "steadyseg"

MODELS = Registry("model", parent=MMSEG_MODELS, scope=SCOPE, locations=["steadyseg.models"])
# The Runner looks wrappers up in mmengine's root registry, whose scoped lookup ("steadyseg.X") only searches its
# direct children; so this one hangs directly under mmengine's (mmseg registers no wrappers of its own).
MODEL_WRAPPERS = Registry(
    "model_wrapper", parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE, locations=["steadyseg.engine"]
)
DATASETS = Registry("dataset", parent=MMSEG_DATASETS, scope=SCOPE, locations=["steadyseg.datasets"])
DATA_SAMPLERS = Registry(
    "data sampler", parent=MMSEG_DATA_SAMPLERS, scope=SCOPE, locations=["steadyseg.datasets"]
)
TRANSFORMS = Registry("transform", parent=MMSEG_TRANSFORMS, scope=SCOPE, locations=["steadyseg.datasets"])
METRICS = Registry("metric", parent=MMSEG_METRICS, scope=SCOPE, locations=["steadyseg.evaluation"])
EVALUATOR = Registry("evaluator", parent=MMSEG_EVALUATOR, scope=SCOPE, locations=["steadyseg.evaluation"])
HOOKS = Registry("hook", parent=MMSEG_HOOKS, scope=SCOPE, locations=["steadyseg.engine"])
LOOPS = Registry("loop", parent=MMSEG_LOOPS, scope=SCOPE, locations=["steadyseg.engine"])
OPTIMIZERS = Registry("optimizer", parent=MMSEG_OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPERS = Registry("optim_wrapper", parent=MMSEG_OPTIM_WRAPPERS, scope=SCOPE)
PARAM_SCHEDULERS = Registry("parameter scheduler", parent=MMSEG_PARAM_SCHEDULERS, scope=SCOPE)
VISUALIZERS = Registry(
    "visualizer", parent=MMSEG_VISUALIZERS, scope=SCOPE, locations=["steadyseg.visualization"]
)
VISBACKENDS = Registry(
    "vis_backend", parent=MMSEG_VISBACKENDS, scope=SCOPE, locations=["steadyseg.visualization"]
)
