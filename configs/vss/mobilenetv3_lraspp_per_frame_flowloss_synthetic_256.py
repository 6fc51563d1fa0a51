# Per-frame baseline + flow-warped temporal consistency loss (ETC / Lai et al.): the prediction of frame t-1,
# warped by the synthetic set's exact flow, should match frame t where the occlusion mask says the warp holds.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(temporal_losses=[dict(type="FlowWarpedConsistencyLoss", loss_weight=1.0, on="probs")])
