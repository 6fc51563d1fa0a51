# VSPW per-frame recipe + RVM's temporal coherence loss.
_base_ = "./mobilenetv3_lraspp_per_frame_vspw_480.py"
model = dict(temporal_losses=[dict(type="TemporalCoherenceLoss", loss_weight=5.0, on="probs")])
