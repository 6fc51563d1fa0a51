# A few CPU minutes: enough for the mobile model to learn people on synthetic video.
max_iters = 800
val_interval = 400
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type="PolyLR", eta_min=1e-5, power=0.9, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type="VideoValLoop")
test_cfg = dict(type="VideoTestLoop")
