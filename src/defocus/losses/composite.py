"""A weighted sum of registered losses, assembled from a config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from defocus.errors import DefocusError
from defocus.losses.base import ROLES, NetworkLoss
from defocus.losses.reduction import check_reduction
from defocus.losses.registry import create_loss


class CompositeLoss(nn.Module):
    """``total = Σ weight_i · loss_i``, e.g. the fine-tuning loss ``L1 - β · Q``.

    Each term is a mapping ``{"name": <registered loss>, "weight": w, **kwargs}``
    (weight defaults to 1; other keys go to the loss's constructor). ``L1 - β · Q`` is
    ``[{"name": "l1", "weight": 1.0}, {"name": "sharpness", "weight": β}]`` because the
    ``sharpness`` loss is ``-Q``; EHNet's own loss is
    ``[{"name": "l1"}, {"name": "frequency", "weight": 0.1}]``.

    Calling the module returns ``(total, terms)`` where ``terms`` maps each term's name
    to its *unweighted* value (for logging), so ``total == Σ weight · terms[name]``.
    Each term gets the images its loss declares (:attr:`~defocus.losses.base.Loss.
    inputs`); :attr:`inputs` is what the terms need together, so the caller (the
    trainer) knows what to pass: ``restored`` and ``reference`` positionally, the other
    roles (``blurry``, ``psf``, ``blur_map``) by keyword.
    All terms use this module's ``reduction``; since "mean" and "sum" are linear in the
    per-image values, the total has the same meaning as each term's.

    Args:
        terms: The terms, in order; names must be unique.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per image).

    Raises:
        DefocusError: On an empty list, a term without a name, a duplicate name, a
            non-numeric weight, a ``reduction`` key inside a term, or an unknown loss.

    A term may name, with ``network = "<name>"``, a network trained alongside in the
    same stage; :meth:`bind` hands it to that term's loss (a
    :class:`~defocus.losses.base.NetworkLoss`).

    Attributes:
        inputs: The roles the terms need, in the order of :data:`~defocus.losses.base.ROLES`.
        networks: Term name → name of the trained network it is computed through.

    Shape:
        - restored, reference, blurry: :math:`(B, C, H, W)`; psf :math:`(B, 1, h, w)`;
          blur_map :math:`(B, 1, H, W)`.
        - Output: total and each term :math:`()`, or :math:`(B,)` for ``"none"``.
    """

    def __init__(self, terms: Sequence[Mapping[str, Any]], reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        if not terms:
            raise DefocusError("loss: at least one term is needed")
        self.names: list[str] = []
        self.weights: list[float] = []
        self.losses = nn.ModuleList()
        self.networks: dict[str, str] = {}
        for index, term in enumerate(terms):
            options = dict(term)
            name = options.pop("name", None)
            if not isinstance(name, str):
                raise DefocusError(f"loss term {index + 1}: needs a 'name' (got {term!r})")
            if name in self.names:
                raise DefocusError(f"loss term {name!r} appears twice")
            weight = options.pop("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise DefocusError(f"loss term {name!r}: weight must be a number, got {weight!r}")
            if "reduction" in options:
                raise DefocusError(
                    f"loss term {name!r}: set 'reduction' on the composite loss, not on a term"
                )
            network = options.pop("network", None)
            loss = create_loss(name, reduction=reduction, **options)
            if network is not None:
                if not isinstance(network, str) or not isinstance(loss, NetworkLoss):
                    raise DefocusError(
                        f"loss term {name!r}: 'network' names a trained network, and only "
                        "losses computed through a network (e.g. reblur) take one"
                    )
                self.networks[name] = network
            self.losses.append(loss)
            self.names.append(name)
            self.weights.append(float(weight))
        needed = {role for loss in self.losses for role in loss.inputs}
        self.inputs = tuple(role for role in ROLES if role in needed)

    def bind(self, networks: Mapping[str, nn.Module]) -> None:
        """Give every term that names a network (``network = "..."``) that network.

        Raises:
            DefocusError: If a term names a network that ``networks`` lacks.
        """
        for name, loss in zip(self.names, self.losses, strict=True):
            wanted = self.networks.get(name)
            if wanted is None:
                continue
            if wanted not in networks:
                known = ", ".join(networks) or "none"
                raise DefocusError(
                    f"loss term {name!r}: no trained network {wanted!r} (this stage has {known})"
                )
            loss.bind_network(networks[wanted])  # type: ignore[operator]

    def forward(
        self,
        restored: torch.Tensor,
        reference: torch.Tensor | None = None,
        **images: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Compute the total and the individual terms (see the class docstring).

        Args:
            restored: The network's output.
            reference: The sharp ground truth (for terms that need it).
            **images: Further roles by name: ``blurry``, ``psf``, ``blur_map``.

        Raises:
            ValueError: If a term needs an image that was not given, or a keyword is
                not a role.
        """
        given = {"restored": restored, "reference": reference, **images}
        unknown = sorted(set(given) - set(ROLES))
        if unknown:
            raise ValueError(f"not loss inputs: {', '.join(unknown)} (roles: {', '.join(ROLES)})")
        values: dict[str, torch.Tensor] = {}
        for name, loss in zip(self.names, self.losses, strict=True):
            missing = [role for role in loss.inputs if given.get(role) is None]
            if missing:
                raise ValueError(f"loss term {name!r} needs the {' and '.join(missing)} image")
            values[name] = loss(*(given[role] for role in loss.inputs))
        total = sum(w * values[n] for n, w in zip(self.names, self.weights, strict=True))
        return total, values
