default_scope = "steadyseg"
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend="nccl"),
)
# Console + JSON scalars (work_dir/<timestamp>/vis_data/scalars.json); wandb is added by `--wandb` or `wandb = True`.
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="Visualizer", vis_backends=vis_backends)
wandb = False
log_processor = dict(by_epoch=False)
log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=0)
# Scoped name: the Runner looks the wrapper up in mmengine's root registry (see steadyseg/registry.py).
model_wrapper_cfg = dict(type="steadyseg.CPUFriendlyDistributedDataParallel")
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(
        type="CheckpointHook",
        by_epoch=False,
        interval=100,
        max_keep_ckpts=2,
        save_last=True,
        backend_args=dict(backend="atomic_local"),
    ),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
