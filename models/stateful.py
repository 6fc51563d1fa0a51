"""The protocol by which any part of a video model keeps state from one frame to the next.

A module is *stateful* when it defines

- ``state_names``: a tuple naming its state tensors, in order;
- ``initial_state(frame) -> State``: those tensors before the first frame of a video, for frames shaped like
  ``frame [B, 3, H, W]`` (the model's normalized input);

and its forward takes its state and returns the next one beside its output. A video model collects the states
of its stateful descendants in the order they were registered (outermost only: a stateful module owns the
state of its own children), so the whole model's state is one flat tuple that an exported graph takes and
returns, named ``<child>.<name>``. The model keeps nothing between calls: the caller carries the state (as in
Robust Video Matting's ``model(src, *rec)``).

A stateful part that no exporter can trace (a tracker matching by SciPy's Hungarian algorithm, with births and
deaths that depend on the data) declares ``in_graph = False``: it runs outside an exported graph, after it, on the
graph's outputs. Its state is still the model's (``step`` carries it, so memory stays bounded and evaluation keeps
it across contiguous clips), but not the graph's: ``StateLayout.graph_names`` lists the state an exported graph
takes and returns, and the application carries the rest beside it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

State = tuple[torch.Tensor, ...]


def is_stateful(module: nn.Module) -> bool:
    return hasattr(module, "state_names") and callable(getattr(module, "initial_state", None))


def runs_in_graph(module: nn.Module) -> bool:
    """Whether a stateful part belongs in an exported graph (it does unless it declares ``in_graph = False``)."""
    return getattr(module, "in_graph", True)


def stateful_children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of the outermost stateful descendants of ``model``, in registration order."""
    found: list[tuple[str, nn.Module]] = []

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if is_stateful(child):
                found.append((path, child))
            else:
                visit(child, f"{path}.")

    visit(model, "")
    return found


class StateLayout:
    """How a model's flat state tuple divides among its stateful children.

    Built once per model from :func:`stateful_children`; ``split`` and ``join`` check lengths so a state of
    another model (or of another version of this one) fails with the names it expected. ``names`` is the whole
    state; ``graph_names`` the state of the parts that run in an exported graph and ``host_parts`` ``(path,
    module)`` of those that run outside it (``in_graph = False``), which for most models is none.
    """

    def __init__(self, model: nn.Module):
        self.children = stateful_children(model)
        self.owner = type(model).__name__
        self.names = tuple(
            f"{path}.{name}" for path, child in self.children for name in tuple(child.state_names)
        )
        self.host_parts = [(path, child) for path, child in self.children if not runs_in_graph(child)]
        self.graph_names = tuple(
            f"{path}.{name}"
            for path, child in self.children
            if runs_in_graph(child)
            for name in tuple(child.state_names)
        )

    def initial(self, frame: torch.Tensor) -> State:
        state = []
        for path, child in self.children:
            part = tuple(child.initial_state(frame))
            if len(part) != len(child.state_names):
                raise ValueError(
                    f"{self.owner}.{path}: initial_state gave {len(part)} tensors but state_names lists "
                    f"{len(child.state_names)} ({', '.join(child.state_names)})"
                )
            state += part
        return tuple(state)

    def split(self, state: State) -> dict[str, State]:
        """The flat state -> each stateful child's part, by the child's path."""
        if len(state) != len(self.names):
            raise ValueError(
                f"{self.owner}: state has {len(state)} tensors; expected {len(self.names)} "
                f"({', '.join(self.names) or 'no state'})"
            )
        parts, start = {}, 0
        for path, child in self.children:
            end = start + len(child.state_names)
            parts[path] = tuple(state[start:end])
            start = end
        return parts

    def graph_part(self, state: State) -> State:
        """The flat state -> the tensors of the parts that run in an exported graph (``graph_names``), in order."""
        parts = self.split(state)
        return tuple(
            tensor for path, child in self.children if runs_in_graph(child) for tensor in parts[path]
        )

    def join(self, parts: dict[str, State]) -> State:
        """Each stateful child's next state -> the flat state, in the layout's order."""
        missing = [path for path, _ in self.children if path not in parts]
        if missing:
            raise ValueError(f"{self.owner}: no next state for stateful part(s) {', '.join(missing)}")
        return tuple(tensor for path, _ in self.children for tensor in parts[path])
