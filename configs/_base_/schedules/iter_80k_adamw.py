# Full-scale schedule for VSPW (GPU): 80k iterations, validation every 8k.
max_iters = 80000
val_interval = 8000
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=1e-6, power=1.0, by_epoch=False, begin=1500, end=max_iters),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
