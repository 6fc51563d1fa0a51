"""An Evaluator that gathers every rank's results whole, however many each rank has."""

from __future__ import annotations

from mmengine.dist import all_gather_object, broadcast_object_list, is_main_process
from mmengine.evaluator import Evaluator

from steadyseg.registry import EVALUATOR


@EVALUATOR.register_module()
class VideoEvaluator(Evaluator):
    """mmengine's Evaluator, except for how results are collected across ranks.

    mmengine's ``collect_results`` interleaves the ranks' results and truncates them to the shortest rank's
    length, which assumes a sampler that pads every rank to the same length with repeated samples. Under
    ``VideoContiguousSampler`` ranks hold whole videos, so their lengths differ and nothing is repeated: here
    each metric's results are concatenated rank by rank (each video's clips stay together and in order), the
    main process computes the metrics and broadcasts them.
    """

    def evaluate(self, size: int) -> dict:
        metrics = {}
        for metric in self.metrics:
            results = [result for part in all_gather_object(metric.results) for result in part]
            computed = [None]
            if is_main_process():
                values = metric.compute_metrics(results)
                if metric.prefix:
                    values = {f"{metric.prefix}/{key}": value for key, value in values.items()}
                computed = [values]
            broadcast_object_list(computed)
            metric.results.clear()
            duplicated = sorted(set(metrics) & set(computed[0]))
            if duplicated:
                raise ValueError(
                    f"metrics {duplicated} are computed by more than one metric: give the metrics distinct prefixes"
                )
            metrics.update(computed[0])
        return metrics
