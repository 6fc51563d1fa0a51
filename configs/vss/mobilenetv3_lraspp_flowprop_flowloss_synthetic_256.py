# The flow-guided propagation model trained with the flow-warped consistency loss (the ConvGRU recipe's loss,
# see mobilenetv3_lraspp_convgru_flowloss_synthetic_256.py): propagation learns where to trust the warped memory,
# the loss ties each frame's prediction to the previous one where the exact flow says they must agree.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_flowprop.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(temporal_losses=[dict(type="FlowWarpedConsistencyLoss", loss_weight=1.0, on="probs")])
