import math

import pytest
import torch

from steadyseg.models.losses import HungarianMaskLoss

LN2 = math.log(2)
# A logit far enough from 0 that its sigmoid and softmax are 0 or 1 to float precision.
SURE = 30.0


def person_logits(*person_minus_none: float) -> torch.Tensor:
    """Class logits ``[Q, 2]`` (person, no-object) with the given person - no-object margins."""
    return torch.tensor([[margin, 0.0] for margin in person_minus_none])


def no_instances(frames: int, size=(2, 2)):
    return [
        (torch.zeros(0, dtype=torch.long), torch.zeros(0, *size, dtype=torch.bool)) for _ in range(frames)
    ]


def test_cost_matrix_is_class_plus_bce_plus_dice():
    # One query (p(person) = 0.5, mask logit 0 on its single pixel) against a person covering the pixel and one not:
    # class -0.5, BCE ln 2 for both; dice 1 - (2 * 0.5 + 1) / (0.5 + 1 + 1) = 0.2 and 1 - 1 / (0.5 + 1) = 1/3.
    loss = HungarianMaskLoss(num_classes=1)
    cost = loss.cost_matrix(
        torch.zeros(1, 2), torch.zeros(1, 1, 1), torch.tensor([0, 0]), torch.tensor([[[1.0]], [[0.0]]])
    )
    expected = torch.tensor([[2 * -0.5 + 5 * LN2 + 5 * 0.2, 2 * -0.5 + 5 * LN2 + 5 / 3]])
    torch.testing.assert_close(cost, expected)


def test_matching_pairs_each_instance_with_the_query_that_predicts_its_mask():
    loss = HungarianMaskLoss(num_classes=1)
    left, right = torch.tensor([[[1.0, 0.0]]]), torch.tensor([[[0.0, 1.0]]])
    masks = torch.cat([left, right])
    # Query 0 predicts the right person, query 1 nothing, query 2 the left person; all equally sure of "person".
    mask_logits = torch.tensor([[[-10.0, 10.0]], [[-10.0, -10.0]], [[10.0, -10.0]]])
    queries, instances = loss.match(person_logits(1, 1, 1), mask_logits, torch.tensor([0, 0]), masks)
    assert queries.tolist() == [0, 2] and instances.tolist() == [1, 0]


def test_matching_breaks_a_mask_tie_by_the_class_probability():
    loss = HungarianMaskLoss(num_classes=2)
    mask_logits = torch.full((2, 1, 2), 10.0)
    # Both queries predict the mask; query 1 says class 1 (the instance's), query 0 class 0.
    class_logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    queries, instances = loss.match(class_logits, mask_logits, torch.tensor([1]), torch.ones(1, 1, 2))
    assert queries.tolist() == [1] and instances.tolist() == [0]


def test_a_perfect_prediction_has_zero_loss_at_every_stage():
    # Frame 0: two people as 2 x 2 blocks of an 8 x 8 mask (area downsampling to the 4 x 4 predictions is exact);
    # frame 1: nobody. Queries 1 and 2 predict the people, every other query no-object.
    people = torch.zeros(2, 8, 8, dtype=torch.bool)
    people[0, :4, :4] = True
    people[1, 4:, 2:6] = True
    coarse = people.reshape(2, 4, 2, 4, 2)[:, :, 0, :, 0]
    mask_logits = torch.full((2, 3, 4, 4), -SURE)
    mask_logits[0, 1:] = torch.where(coarse, SURE, -SURE)
    class_logits = person_logits(-SURE, SURE, SURE).repeat(2, 1, 1)
    class_logits[1] = person_logits(-SURE, -SURE, -SURE)
    targets = [(torch.tensor([0, 0]), people), *no_instances(1, (8, 8))]
    terms = HungarianMaskLoss(num_classes=1)([class_logits] * 2, [mask_logits] * 2, targets)
    assert set(terms) == {"loss_cls", "loss_mask", "loss_dice"}
    for name, value in terms.items():
        assert value.item() < 1e-6, name


def test_the_mask_terms_of_one_matched_query_are_bce_and_dice_over_the_instances():
    # One person over the first of two pixels, the query's logits 0: BCE ln 2 per pixel; dice 1 - 2 / 3.
    targets = [(torch.tensor([0]), torch.tensor([[[True, False]]]))]
    terms = HungarianMaskLoss(num_classes=1)([person_logits(0)[None]], [torch.zeros(1, 1, 1, 2)], targets)
    torch.testing.assert_close(terms["loss_mask"], torch.tensor(5 * LN2))
    torch.testing.assert_close(terms["loss_dice"], torch.tensor(5 / 3))


def test_mask_terms_are_divided_by_the_instances_of_all_frames():
    # The same person in frame 0 and nobody in frame 1 against the same person in both: twice the instances and
    # twice the matched terms, so the same mean.
    person = (torch.tensor([0]), torch.tensor([[[True, False]]]))
    loss = HungarianMaskLoss(num_classes=1)
    mask_logits = torch.tensor([0.5, -1.0]).view(1, 1, 1, 2).repeat(2, 1, 1, 1)
    class_logits = person_logits(0)[None].repeat(2, 1, 1)
    once = loss([class_logits], [mask_logits], [person, *no_instances(1, (1, 2))])
    twice = loss([class_logits], [mask_logits], [person, person])
    for name in ("loss_mask", "loss_dice"):
        torch.testing.assert_close(once[name], twice[name])


def test_unmatched_queries_learn_no_object_with_its_weight():
    # Query 0 is matched to the person (its mask), query 1 is not: CE(person | logits 2, 0) = ln(1 + e^-2) with
    # weight 1, CE(no-object | logits 0, 0) = ln 2 with weight 0.1; the class term is their weighted mean.
    targets = [(torch.tensor([0]), torch.tensor([[[True, False]]]))]
    mask_logits = torch.tensor([[[[SURE, -SURE]], [[-SURE, -SURE]]]])
    terms = HungarianMaskLoss(num_classes=1)([person_logits(2, 0)[None]], [mask_logits], targets)
    matched, unmatched = math.log(1 + math.exp(-2)), LN2
    torch.testing.assert_close(terms["loss_cls"], torch.tensor(2 * (matched + 0.1 * unmatched) / 1.1))


def test_frames_without_instances_teach_no_object_and_keep_a_graph_for_the_mask_terms():
    class_logits = torch.zeros(2, 3, 2, requires_grad=True)
    mask_logits = torch.zeros(2, 3, 2, 2, requires_grad=True)
    terms = HungarianMaskLoss(num_classes=1)([class_logits], [mask_logits], no_instances(2))
    torch.testing.assert_close(terms["loss_cls"], torch.tensor(2 * LN2))
    assert terms["loss_mask"].item() == terms["loss_dice"].item() == 0
    sum(terms.values()).backward()
    assert mask_logits.grad is not None and not mask_logits.grad.any()


def random_case(seed: int):
    generator = torch.Generator().manual_seed(seed)
    class_logits = torch.randn(2, 5, 3, generator=generator)
    mask_logits = torch.randn(2, 5, 4, 4, generator=generator)
    targets = [
        (torch.tensor([0, 1, 1]), torch.rand(3, 8, 8, generator=generator) > 0.5),
        (torch.tensor([1]), torch.rand(1, 8, 8, generator=generator) > 0.5),
    ]
    return class_logits, mask_logits, targets


def test_the_loss_does_not_depend_on_the_order_of_the_queries():
    loss = HungarianMaskLoss(num_classes=2)
    class_logits, mask_logits, targets = random_case(0)
    order = torch.tensor([3, 0, 4, 1, 2])
    terms = loss([class_logits], [mask_logits], targets)
    permuted = loss([class_logits[:, order]], [mask_logits[:, order]], targets)
    for name in terms:
        torch.testing.assert_close(terms[name], permuted[name], msg=name)


def test_mask_terms_reach_only_the_matched_queries():
    loss = HungarianMaskLoss(num_classes=2)
    class_logits, mask_logits, targets = random_case(1)
    mask_logits.requires_grad_(True)
    terms = loss([class_logits], [mask_logits], targets)
    (terms["loss_mask"] + terms["loss_dice"]).backward()
    for frame, (labels, masks) in enumerate(targets):
        coarse = torch.nn.functional.interpolate(masks[None].float(), size=(4, 4), mode="area")[0]
        matched, _ = loss.match(class_logits[frame], mask_logits[frame].detach(), labels, coarse)
        reached = mask_logits.grad[frame].flatten(1).abs().sum(1) > 0
        assert reached.nonzero()[:, 0].tolist() == sorted(matched.tolist())
        assert len(matched) == len(labels)


def test_every_stage_is_matched_and_supervised_on_its_own():
    loss = HungarianMaskLoss(num_classes=2)
    first, second = random_case(2), random_case(3)
    targets = first[2]
    both = loss([first[0], second[0]], [first[1], second[1]], targets)
    alone = [loss([case[0]], [case[1]], targets) for case in (first, second)]
    for name in both:
        torch.testing.assert_close(both[name], alone[0][name] + alone[1][name], msg=name)


def test_a_label_outside_the_classes_is_an_error():
    class_logits, mask_logits, targets = random_case(0)
    targets[1] = (torch.tensor([2]), targets[1][1])
    with pytest.raises(
        ValueError, match=r"frame 1: label 2 is not a class 0 \.\. 1 \(num_classes=2; 2 is no-object"
    ):
        HungarianMaskLoss(num_classes=2)([class_logits], [mask_logits], targets)


def test_targets_for_another_number_of_frames_are_an_error():
    class_logits, mask_logits, targets = random_case(0)
    with pytest.raises(ValueError, match="targets for 1 frames and predictions for 2"):
        HungarianMaskLoss(num_classes=2)([class_logits], [mask_logits], targets[:1])
