# The mobile matting recipe without RVM's temporal coherence terms (alpha and foreground), for the benchmark's
# with/without comparison at the same seed and budget: everything else is mobilenetv3_small_matting_synthetic_256.py.
_base_ = "./mobilenetv3_small_matting_synthetic_256.py"
model = dict(
    losses=[
        dict(type="AlphaL1Loss"),
        dict(type="AlphaLaplacianLoss"),
        dict(type="ForegroundL1Loss"),
        dict(type="SegmentationBCELoss"),
    ]
)
