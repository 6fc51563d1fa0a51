import numpy as np
import torch


def clip(video_id, frame_indices, gt, pred):
    """A clip result as mmengine's Evaluator hands it to a metric (a VideoDataSample turned into a dict)."""
    return dict(
        video_id=video_id,
        frame_indices=list(frame_indices),
        gt_sem_seg=torch.as_tensor(np.asarray(gt), dtype=torch.long),
        pred_sem_seg=torch.as_tensor(np.asarray(pred), dtype=torch.long),
    )


def evaluate(metric, clips):
    metric.process(None, clips)
    return metric.compute_metrics(metric.results)
