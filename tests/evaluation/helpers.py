import cv2
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


def pred_clip(video_id, frame_indices, pred, flow=None):
    """A prediction-only clip result (no ground truth), as mmengine's Evaluator hands it to a metric."""
    result = dict(
        video_id=video_id,
        frame_indices=list(frame_indices),
        pred_sem_seg=torch.as_tensor(np.asarray(pred), dtype=torch.long),
    )
    if flow is not None:
        result["gt_flow"] = torch.as_tensor(np.asarray(flow), dtype=torch.float32)
    return result


def run(metric, clips, inputs=None):
    metric.process(None if inputs is None else dict(inputs=inputs), clips)
    return metric.compute_metrics(metric.results)


def uniform_flow(num_frames, shape, dx, dy=0.0):
    flow = np.zeros((num_frames - 1, 2, *shape), dtype=np.float32)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def translating_square(num_frames=6, shape=(12, 16)):
    """A 4x4 square (rows 4..7) starting at columns 2..5 and moving right 2 px per frame; the backward flow of
    every frame is (-2, 0). Each pair changes 2 columns x 4 rows on each side of the square: 16 of 192 pixels."""
    pred = np.zeros((num_frames, *shape), dtype=np.int64)
    for t in range(num_frames):
        pred[t, 4:8, 2 + 2 * t : 6 + 2 * t] = 1
    return pred, uniform_flow(num_frames, shape, -2.0)


def textured_video(rng, num_frames, shape=(32, 40)):
    """uint8 frames ``[T, 3, H, W]`` of a smooth random texture moving right 1 px per frame, and labels of a
    thresholded copy with some random flips, so flow explains most changes but not all."""
    texture = cv2.GaussianBlur(rng.random((shape[0], shape[1] + num_frames)).astype(np.float32), (0, 0), 2)
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    frames = np.stack([texture[:, num_frames - t : num_frames - t + shape[1]] for t in range(num_frames)])
    labels = (frames > 0.5).astype(np.int64) + (frames > 0.7)
    labels = np.where(rng.random(labels.shape) < 0.05, rng.integers(0, 3, labels.shape), labels)
    rgb = np.repeat((frames * 255).astype(np.uint8)[:, None], 3, axis=1)
    return torch.from_numpy(rgb), labels
