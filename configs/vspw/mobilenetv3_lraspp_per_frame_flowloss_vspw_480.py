# VSPW per-frame recipe + flow-warped consistency loss (ETC); VSPW has no flow, so DIS estimates it per clip.
_base_ = "./mobilenetv3_lraspp_per_frame_vspw_480.py"
model = dict(
    temporal_losses=[dict(type="FlowWarpedConsistencyLoss", loss_weight=1.0, on="probs", flow_source="dis")]
)
