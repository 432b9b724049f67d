"""Darknet models in PyTorch and back.

    module = dusk.torch.load("yolov4-tiny.cfg", "yolov4-tiny.weights")
    heads = module(x)                      # x: N x 3 x H x W, RGB in [0, 1]
    ...fine-tune...
    dusk.torch.save(module, "yolov4-tiny.cfg", "tuned.weights")

The module is built from dusk's own parse of the cfg, one submodule per
Darknet layer (module.layers[i] is layer i), each computing what dusk's
reference kernels compute, in torch operations: gradients flow through all of
them. BatchNorm is nn.BatchNorm2d(eps=1e-5) holding the file's statistics,
with Darknet's training momentum (0.01 in PyTorch's convention). In eval()
mode the output is the list of detection heads as Darknet leaves them
(logistic applied to x, y, objectness and classes), the same tensors as
`dusk.forward`. Needs PyTorch (Debian: python3-torch).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import Error, _dusk

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as _missing:  # pragma: no cover - depends on the machine
    raise ImportError("dusk.torch needs PyTorch, which is not installed: on Debian, apt-get install python3-torch "
                      f"({_missing})") from _missing

__all__ = ["DarknetModule", "load", "save"]

PathLike = Union[str, os.PathLike]

# Darknet's momentum for its rolling statistics, in PyTorch's convention.
DARKNET_BN_MOMENTUM = 0.01
BN_EPSILON = 1e-5


def _softplus(x: torch.Tensor) -> torch.Tensor:
    # Darknet's softplus for mish: x above 20, exp(x) below -20.
    return torch.where(x > 20, x, torch.where(x < -20, torch.exp(x), torch.log1p(torch.exp(x))))


def _normalize_channels(x: torch.Tensor) -> torch.Tensor:
    positive = torch.clamp(x, min=0)
    return positive / (positive.sum(dim=1, keepdim=True) + 0.0001)


def _softmax_channels(x: torch.Tensor, subtract_max: bool) -> torch.Tensor:
    if subtract_max:
        x = x - x.max(dim=1, keepdim=True).values
    e = torch.exp(x)
    return e / (e.sum(dim=1, keepdim=True) + 0.0001)


def _stair(x: torch.Tensor) -> torch.Tensor:
    n = torch.floor(x)
    half = torch.floor(x / 2)
    return torch.where(torch.remainder(n, 2) == 0, half, (x - n) + half)


# Darknet's activations (the formulas of dusk's engine/activations.cpp).
_ACTIVATIONS = {
    "linear": lambda x: x,
    "leaky": lambda x: torch.where(x > 0, x, 0.1 * x),
    "revleaky": lambda x: torch.where(x > 0, x, 0.1 * x),
    "relu": torch.relu,
    "relu6": lambda x: torch.clamp(x, 0, 6),
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "elu": lambda x: torch.where(x >= 0, x, torch.exp(x) - 1),
    "selu": lambda x: torch.where(x >= 0, 1.0507 * x, 1.0507 * 1.6732 * (torch.exp(x) - 1)),
    "gelu": lambda x: 0.5 * x * (1 + torch.tanh(0.797885 * x + 0.035677 * x ** 3)),
    "swish": lambda x: x * torch.sigmoid(x),
    "mish": lambda x: x * torch.tanh(_softplus(x)),
    "hard_mish": lambda x: torch.where(x > 0, x, torch.where(x > -2, x * x / 2 + x, torch.zeros_like(x))),
    "relie": lambda x: torch.where(x > 0, x, 0.01 * x),
    "ramp": lambda x: x * (x > 0) + 0.1 * x,
    "plse": lambda x: torch.where(x < -4, 0.01 * (x + 4), torch.where(x > 4, 0.01 * (x - 4) + 1, 0.125 * x + 0.5)),
    "stair": _stair,
    "hardtan": lambda x: torch.clamp(x, -1, 1),
    "lhtan": lambda x: torch.where(x < 0, 0.001 * x, torch.where(x > 1, 0.001 * (x - 1) + 1, x)),
    "loggy": lambda x: 2 * torch.sigmoid(x) - 1,
    "normalize_channels": _normalize_channels,
    "normalize_channels_softmax": lambda x: _softmax_channels(x, False),
    "normalize_channels_softmax_maxval": lambda x: _softmax_channels(x, True),
}


def _activate(x: torch.Tensor, name: str) -> torch.Tensor:
    return _ACTIVATIONS[name](x)


def _parameter(values: np.ndarray, shape: Sequence[int]) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.array(values, dtype=np.float32).reshape(shape)))


def _batchnorm(channels: int, blocks: Dict[str, np.ndarray], one_d: bool = False) -> nn.Module:
    bn = (nn.BatchNorm1d if one_d else nn.BatchNorm2d)(channels, eps=BN_EPSILON, momentum=DARKNET_BN_MOMENTUM)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(blocks["scales"]))
        bn.bias.copy_(torch.from_numpy(blocks["biases"]))
        bn.running_mean.copy_(torch.from_numpy(blocks["mean"]))
        bn.running_var.copy_(torch.from_numpy(blocks["variance"]))
    return bn


def _batchnorm_blocks(bn: nn.Module) -> Dict[str, torch.Tensor]:
    return {"biases": bn.bias, "scales": bn.weight, "mean": bn.running_mean, "variance": bn.running_var}


class _Layer(nn.Module):
    """One Darknet layer: forward takes the outputs of its inputs, in cfg order."""

    def __init__(self, layer: Dict):
        super().__init__()
        self.index = layer["index"]
        self.kind = layer["kind"]
        self.spec = layer["spec"]

    def blocks(self) -> Dict[str, torch.Tensor]:
        """The parameter blocks as the weights file names them."""
        return {}


class Convolutional(_Layer):
    def __init__(self, layer: Dict, blocks: Dict[str, np.ndarray]):
        super().__init__(layer)
        s = self.spec
        in_c = layer["input"][0]
        self.conv = nn.Conv2d(in_c, s["filters"], s["size"], stride=(s["stride_y"], s["stride_x"]),
                              padding=s["pad"] * s["dilation"], dilation=s["dilation"], groups=s["groups"],
                              bias=not s["batch_normalize"])
        self.conv.weight = _parameter(blocks["weights"], self.conv.weight.shape)
        self.bn = _batchnorm(s["filters"], blocks) if s["batch_normalize"] else None
        if self.bn is None:
            self.conv.bias = _parameter(blocks["biases"], (s["filters"],))

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = self.conv(inputs[0])
        if self.bn is not None:
            x = self.bn(x)
        return _activate(x, self.spec["activation"])

    def blocks(self) -> Dict[str, torch.Tensor]:
        out = _batchnorm_blocks(self.bn) if self.bn is not None else {"biases": self.conv.bias}
        out["weights"] = self.conv.weight
        return out


class Connected(_Layer):
    def __init__(self, layer: Dict, blocks: Dict[str, np.ndarray]):
        super().__init__(layer)
        c, h, w = layer["input"]
        outputs = self.spec["output"]
        self.linear = nn.Linear(c * h * w, outputs, bias=not self.spec["batch_normalize"])
        self.linear.weight = _parameter(blocks["weights"], (outputs, c * h * w))
        self.bn = _batchnorm(outputs, blocks, one_d=True) if self.spec["batch_normalize"] else None
        if self.bn is None:
            self.linear.bias = _parameter(blocks["biases"], (outputs,))

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = self.linear(inputs[0].flatten(1))
        if self.bn is not None:
            x = self.bn(x)
        return _activate(x, self.spec["activation"]).reshape(x.shape[0], -1, 1, 1)

    def blocks(self) -> Dict[str, torch.Tensor]:
        out = _batchnorm_blocks(self.bn) if self.bn is not None else {"biases": self.linear.bias}
        out["weights"] = self.linear.weight
        return out


class Batchnorm(_Layer):
    def __init__(self, layer: Dict, blocks: Dict[str, np.ndarray]):
        super().__init__(layer)
        self.bn = _batchnorm(layer["output"][0], blocks)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return self.bn(inputs[0])

    def blocks(self) -> Dict[str, torch.Tensor]:
        return _batchnorm_blocks(self.bn)


def _window_padding(size: int, in_size: int, stride: int, padding: int) -> Tuple[int, int]:
    """Darknet's windows start padding/2 cells before the input; the padding
    after is whatever the last window needs (negative: cells never read)."""
    out = (in_size + padding - size) // stride + 1
    before = padding // 2
    return before, (out - 1) * stride + size - in_size - before


class Maxpool(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        s = self.spec
        if s["maxpool_depth"]:
            n, c, h, w = x.shape
            return x.reshape(n, c // s["out_channels"], s["out_channels"], h, w).max(dim=1).values
        top, bottom = _window_padding(s["size"], x.shape[2], s["stride_y"], s["padding"])
        left, right = _window_padding(s["size"], x.shape[3], s["stride_x"], s["padding"])
        # Cells outside the input never win: padded with -inf.
        x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(x, s["size"], stride=(s["stride_y"], s["stride_x"]))


class LocalAvgpool(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        s = self.spec
        top, bottom = _window_padding(s["size"], x.shape[2], s["stride_y"], s["padding"])
        left, right = _window_padding(s["size"], x.shape[3], s["stride_x"], s["padding"])
        pad = (left, right, top, bottom)
        stride = (s["stride_y"], s["stride_x"])
        # The mean of the cells inside the input only.
        total = F.avg_pool2d(F.pad(x, pad), s["size"], stride=stride, divisor_override=1)
        ones = torch.ones_like(x[:1, :1])
        count = F.avg_pool2d(F.pad(ones, pad), s["size"], stride=stride, divisor_override=1)
        return total / count


class Avgpool(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return inputs[0].mean(dim=(2, 3), keepdim=True)


class Route(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        groups, group_id = self.spec["groups"], self.spec["group_id"]
        parts = []
        for x in inputs:
            part = x.shape[1] // groups
            parts.append(x[:, part * group_id:part * (group_id + 1)])
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


class Shortcut(_Layer):
    def __init__(self, layer: Dict, blocks: Dict[str, np.ndarray]):
        super().__init__(layer)
        self.weights = _parameter(blocks["weights"], (-1,)) if "weights" in blocks else None

    def _source_weights(self, sources: int, channels: int) -> torch.Tensor:
        """Per source, per channel weight, normalised as Darknet does once at load."""
        per_channel = self.spec["weights_type"] == "per_channel"
        w = self.weights.reshape(sources, channels if per_channel else 1)
        normalization = self.spec["weights_normalization"]
        if normalization == "relu":
            w = torch.clamp(w, min=0.001)
            w = w / (w.sum(dim=0, keepdim=True) + 0.0001)
        elif normalization == "softmax":
            w = torch.exp(w - w.max(dim=0, keepdim=True).values)
            w = w / (w.sum(dim=0, keepdim=True) + 0.0001)
        return w.expand(sources, channels)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        c = x.shape[1]
        weights = self._source_weights(len(inputs), c) if self.weights is not None else None
        out = x if weights is None else x * weights[0].reshape(1, c, 1, 1)
        for s, source in enumerate(inputs[1:], start=1):
            channels = min(c, source.shape[1])
            if source.shape[2:] != x.shape[2:]:
                # Darknet's sampled add: the smaller grid, every stride-th cell.
                stride = max(source.shape[3] // x.shape[3], 1)
                step = max(x.shape[3] // source.shape[3], 1)
                h = min(source.shape[2], x.shape[2])
                w = min(source.shape[3], x.shape[3])
                sampled = source[:, :channels, ::stride, ::stride][:, :, :h, :w]
                added = torch.zeros_like(out)
                added[:, :channels, ::step, ::step][:, :, :h, :w] = sampled
                out = out + added
                continue
            term = source[:, :channels]
            if weights is not None:
                term = term * weights[s, :channels].reshape(1, channels, 1, 1)
            if channels == c:
                out = out + term
            else:
                out = torch.cat([out[:, :channels] + term, out[:, channels:]], dim=1)
        return _activate(out, self.spec["activation"])

    def blocks(self) -> Dict[str, torch.Tensor]:
        return {} if self.weights is None else {"weights": self.weights}


class Upsample(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        s = self.spec
        if s["downsample"]:
            return s["scale"] * F.avg_pool2d(x, s["stride"], divisor_override=1)
        return s["scale"] * x.repeat_interleave(s["stride"], dim=2).repeat_interleave(s["stride"], dim=3)


def _reorg_index(w: int, h: int, c: int, stride: int) -> np.ndarray:
    """Darknet's reorg over a w x h x c tensor as index pairs (a, b): flat
    position a of the tensor and b of its stride-times-larger image."""
    k, j, i = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    in_c = c // (stride * stride)
    c2 = k % in_c
    offset = k // in_c
    w2 = i * stride + offset % stride
    h2 = j * stride + offset // stride
    a = (i + w * (j + h * k)).ravel()
    b = (w2 + w * stride * (h2 + h * stride * c2)).ravel()
    return np.stack([a, b])


class Reorg(_Layer):
    """[reorg] (indexed over the input's dims, YOLOv2) and [reorg3d] (the output's)."""

    def __init__(self, layer: Dict, blocks: Dict[str, np.ndarray]):
        super().__init__(layer)
        c, h, w = layer["input"] if self.kind == "reorg" else layer["output"]
        a, b = _reorg_index(w, h, c, self.spec["stride"])
        forward = self.spec["reverse"]
        # out[b] = in[a] when `forward` (Darknet's flag), else out[a] = in[b].
        gather = np.empty_like(a)
        if forward:
            gather[b] = a
        else:
            gather[a] = b
        self.register_buffer("gather", torch.from_numpy(gather), persistent=False)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        c, h, w = self.output_shape
        return x.flatten(1)[:, self.gather].reshape(x.shape[0], c, h, w)


def _logistic_channels(x: torch.Tensor, first: int, count: int) -> torch.Tensor:
    return torch.cat([x[:, :first], torch.sigmoid(x[:, first:first + count]), x[:, first + count:]], dim=1)


def _scale_about_half(x: torch.Tensor, first: int, count: int, scale: float) -> torch.Tensor:
    return torch.cat([x[:, :first], x[:, first:first + count] * scale - 0.5 * (scale - 1),
                      x[:, first + count:]], dim=1)


class Yolo(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        s = self.spec
        x = inputs[0]
        per_anchor = s["classes"] + 5
        for n in range(len(s["mask"])):
            base = n * per_anchor
            if not s["new_coords"]:
                x = _logistic_channels(x, base, 2)
                x = _logistic_channels(x, base + 4, 1 + s["classes"])
            x = _scale_about_half(x, base, 2, s["scale_x_y"])
        return x


class GaussianYolo(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        s = self.spec
        x = inputs[0]
        per_anchor = s["classes"] + 9
        for n in range(len(s["mask"])):
            base = n * per_anchor
            x = _logistic_channels(x, base, 2)
            x = _scale_about_half(x, base, 1, s["scale_x_y"])
            x = _logistic_channels(x, base + 2, 2)
            x = _scale_about_half(x, base + 2, 1, s["scale_x_y"])
            x = _logistic_channels(x, base + 5, 1)
            x = _logistic_channels(x, base + 7, 1)
            x = _logistic_channels(x, base + 8, 1 + s["classes"])
        return x


class Region(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        s = self.spec
        x = inputs[0]
        per_anchor = s["coords"] + 1 + s["classes"]
        for n in range(s["num"]):
            base = n * per_anchor
            x = _logistic_channels(x, base, 2)
            x = _logistic_channels(x, base + s["coords"], 1)
            if s["softmax"]:
                first = base + s["coords"] + 1
                classes = torch.softmax(x[:, first:first + s["classes"]], dim=1)
                x = torch.cat([x[:, :first], classes, x[:, first + s["classes"]:]], dim=1)
        return x


class Sam(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return _activate(inputs[0] * inputs[1], self.spec["activation"])


class ScaleChannels(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        scales, source = inputs[0], inputs[1]
        if self.spec["scale_wh"]:
            factor = scales[:, :1]  # one factor per pixel, from the first channel
        else:
            factor = scales.flatten(1)[:, :source.shape[1]].reshape(source.shape[0], -1, 1, 1)
        return _activate(factor * source, self.spec["activation"])


class Softmax(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        groups, temperature = self.spec["groups"], self.spec["temperature"]
        flat = x.reshape(x.shape[0], groups, -1)
        return torch.softmax(flat / temperature, dim=2).reshape(x.shape)


class Crop(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = inputs[0]
        s = self.spec
        top = (x.shape[2] - s["height"]) // 2
        left = (x.shape[3] - s["width"]) // 2
        return x[:, :, top:top + s["height"], left:left + s["width"]] * s["scale"] + s["shift"]


class Activation(_Layer):
    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return _activate(inputs[0], self.spec["activation"])


class Identity(_Layer):
    """[dropout], [cost] and [empty]: inference passes the input through."""

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return inputs[0]


_WITH_PARAMETERS = {"convolutional": Convolutional, "connected": Connected, "batchnorm": Batchnorm,
                    "shortcut": Shortcut, "reorg": Reorg, "reorg3d": Reorg}
_WITHOUT_PARAMETERS = {"maxpool": Maxpool, "local_avgpool": LocalAvgpool, "avgpool": Avgpool, "route": Route,
                       "upsample": Upsample, "yolo": Yolo, "Gaussian_yolo": GaussianYolo, "region": Region,
                       "sam": Sam, "scale_channels": ScaleChannels, "softmax": Softmax, "crop": Crop,
                       "activation": Activation, "dropout": Identity, "cost": Identity, "empty": Identity}


def _build_layer(layer: Dict, blocks: Dict[str, np.ndarray]) -> _Layer:
    kind = layer["kind"]
    if kind in _WITH_PARAMETERS:
        module = _WITH_PARAMETERS[kind](layer, blocks)
    elif kind in _WITHOUT_PARAMETERS:
        module = _WITHOUT_PARAMETERS[kind](layer)
    else:
        raise Error(f"{layer['describe']}: dusk.torch cannot express [{kind}] layers in torch; "
                    "use dusk itself for this model")
    if "activation" in layer["spec"] and layer["spec"]["activation"] not in _ACTIVATIONS:
        raise Error(f"{layer['describe']}: dusk.torch has no torch form of activation={layer['spec']['activation']}")
    module.output_shape = tuple(layer["output"])
    return module


class DarknetModule(nn.Module):
    """A Darknet network as torch operations; layers[i] is Darknet's layer i.

    forward(x) takes N x 3 x H x W RGB in [0, 1] (the network's input size,
    as dusk fits images) and returns the detection heads' outputs in layer
    order: what `dusk.forward` returns per image in eval() mode.
    """

    def __init__(self, graph: Dict, layers: Sequence[Dict[str, np.ndarray]], header: Dict):
        super().__init__()
        self.cfg = graph["source"]
        self.input_shape = tuple(graph["input"])
        self.heads = list(graph["heads"])
        self.darknet_header = dict(header)  # major, minor, revision, seen: what save() writes
        self._inputs = [list(layer["inputs"]) for layer in graph["layers"]]
        self.layers = nn.ModuleList(_build_layer(layer, blocks)
                                    for layer, blocks in zip(graph["layers"], layers))
        readers = [-1] * len(self.layers)
        for index, inputs in enumerate(self._inputs):
            for producer in inputs:
                if producer >= 0:
                    readers[producer] = index
        self._last_reader = readers

    def forward_layers(self, x: torch.Tensor, keep: Sequence[int]) -> Dict[int, torch.Tensor]:
        """The outputs of the layers in `keep`, by index."""
        wanted = set(keep)
        last = max(wanted)
        outputs: Dict[int, torch.Tensor] = {}
        for index, layer in enumerate(self.layers):
            if index > last:
                break
            inputs = [x if producer < 0 else outputs[producer] for producer in self._inputs[index]]
            outputs[index] = layer(inputs)
            for producer in self._inputs[index]:  # free what no later layer reads
                if producer >= 0 and self._last_reader[producer] == index and producer not in wanted:
                    del outputs[producer]
        return {index: outputs[index] for index in keep}

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        keep = self.heads or [len(self.layers) - 1]
        outputs = self.forward_layers(x, keep)
        return [outputs[index] for index in keep]


def load(cfg: PathLike, weights: PathLike, size: Optional[Tuple[int, int]] = None) -> DarknetModule:
    """A torch module of the cfg's graph with the weights file's parameters
    (BatchNorm unfolded, statistics as stored). size: (width, height) instead
    of the cfg's."""
    width, height = (0, 0) if size is None else (int(size[0]), int(size[1]))
    graph = _dusk.graph(os.fspath(cfg), width, height)
    header, layers = _dusk.read_weights(os.fspath(cfg), os.fspath(weights))
    return DarknetModule(graph, layers, header)


def save(module: DarknetModule, cfg: PathLike, path: PathLike) -> None:
    """Writes the module's parameters as a Darknet .weights file for cfg: the
    blocks in the file's order (bias, scale, mean, variance, kernel), with the
    header of the file it was loaded from (module.darknet_header). Written
    whole or not at all; an unchanged module gives the loaded file byte for byte."""
    if not isinstance(module, DarknetModule):
        raise Error(f"dusk.torch.save takes the module dusk.torch.load made, not a {type(module).__name__}")
    layers = []
    with torch.no_grad():
        for layer in module.layers:
            layers.append({name: tensor.detach().cpu().to(torch.float32).numpy().ravel()
                           for name, tensor in layer.blocks().items()})
    _dusk.write_weights(os.fspath(cfg), os.fspath(path), dict(module.darknet_header), layers)
