# The per-frame baseline with the decoder's linear bottleneck (linear_output), the head of the distillation recipe.
# With the usual ReLU the person probability is capped at the softmax of the classifier's biases (0.568 and 0.562
# on seeds 0 and 1), and the linear output lifts that cap (docs/benchmarks.md); this recipe tells whether the head
# alone, without the teacher, changes the per-frame model's scores. Test its checkpoints with this config: the
# weights also load into the ReLU head, which computes something else with them.
_base_ = "./mobilenetv3_lraspp_per_frame_synthetic_256.py"
model = dict(segmentor=dict(decode_head=dict(linear_output=True)))
