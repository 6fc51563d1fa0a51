from .embedding_tracker import EmbeddingTracker

__all__ = ["EmbeddingTracker"]
