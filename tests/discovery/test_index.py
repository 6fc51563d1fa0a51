"""The segment index: exact and HNSW search by cosine similarity, saving, and novelty."""

import numpy as np
import pytest

from steadyseg.discovery import DiscoveryError, SegmentIndex, novelty


def test_exact_search_ranks_by_cosine_similarity():
    embeddings = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    index = SegmentIndex.build(embeddings, ["a", "b", "c"])
    assert index.kind == "exact" and len(index) == 3
    similarities, ids = index.search(np.array([3.0, 1.0]), k=5)  # k past the size: all three
    assert ids.tolist() == [[0, 2, 1]]
    np.testing.assert_allclose(similarities[0], [3 / 10**0.5, 4 / 20**0.5, 1 / 10**0.5], rtol=1e-6)


def test_hnsw_past_the_threshold_finds_the_exact_neighbours(tmp_path):
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(300, 16)).astype(np.float32)
    rows = [[f"video{i // 10}", i % 10, i % 10 + 1] for i in range(300)]
    approximate = SegmentIndex.build(embeddings, rows, exact_below=100)
    exact = SegmentIndex.build(embeddings, rows, exact_below=1000)
    assert approximate.kind == "hnsw" and exact.kind == "exact"
    queries = embeddings[:50] + 0.05 * rng.normal(size=(50, 16)).astype(np.float32)
    _, found = approximate.search(queries, 5)
    _, truth = exact.search(queries, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found, truth)])
    assert recall >= 0.95
    approximate.save(tmp_path)
    loaded = SegmentIndex.load(tmp_path)
    assert loaded.kind == "hnsw" and loaded.rows == rows
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], found)


def test_a_query_of_another_dimension_is_an_error():
    index = SegmentIndex.build(np.eye(3), [0, 1, 2])
    with pytest.raises(DiscoveryError, match="queries have 2 dimensions, the index 3"):
        index.search(np.ones(2), 1)


def test_loading_from_a_folder_without_an_index_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="segments.faiss: no segment index here"):
        SegmentIndex.load(tmp_path)


def test_novelty_is_the_cosine_distance_to_the_nearest_reference():
    reference = np.array([[1.0, 0.0], [0.0, 1.0]])
    corpus = np.array([[2.0, 0.0], [-1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    np.testing.assert_allclose(novelty(corpus, reference), [0.0, 1.0, 1 - 2**-0.5, 1 + 2**-0.5], atol=1e-6)
    with pytest.raises(DiscoveryError, match="reference collection must hold"):
        novelty(corpus, np.zeros((0, 2)))
