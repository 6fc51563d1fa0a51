# A few CPU minutes per seed: the budget of the matting benchmark's synthetic recipes (configs/matting/
# *_synthetic_256.py), from scratch as the people recipes of iter_800_adamw.py, whose learning rate this keeps.
# Validation only at the end: it scores every synthetic val clip.
max_iters = 300
val_interval = max_iters
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type="PolyLR", eta_min=1e-5, power=0.9, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
