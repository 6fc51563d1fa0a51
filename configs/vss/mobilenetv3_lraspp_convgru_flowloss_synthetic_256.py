# The ConvGRU model trained with the flow-warped consistency loss, as RVM trains its recurrent decoder with a
# temporal loss: on 4-frame training clips the recurrence alone learns little about long real videos, while the
# loss ties each frame's prediction to the previous one where the exact flow says they must agree.
_base_ = [
    "../_base_/models/mobilenetv3_lraspp_convgru.py",
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_800_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(temporal_losses=[dict(type="FlowWarpedConsistencyLoss", loss_weight=1.0, on="probs")])
