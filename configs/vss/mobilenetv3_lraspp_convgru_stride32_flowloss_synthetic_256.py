# mobilenetv3_lraspp_convgru_flowloss_synthetic_256.py with the recurrence on the stride-32 feature only: the
# recurrent state holds where the person is (8x8 at 256 px) while the stride-4 and stride-8 features stay per
# frame, so the boundaries do not smear as they can when fine-scale GRUs carry the last frames' edges.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_convgru.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    temporal=dict(gru_channels=(0, 0, 24)),
    temporal_losses=[dict(type="FlowWarpedConsistencyLoss", loss_weight=1.0, on="probs")],
)
