# Per-frame baseline + RVM's temporal coherence loss (MSE between predicted and ground-truth frame differences).
_base_ = "./mobilenetv3_lraspp_per_frame_synthetic_256.py"
model = dict(temporal_losses=[dict(type="TemporalCoherenceLoss", loss_weight=5.0, on="probs")])
