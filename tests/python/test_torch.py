"""dusk.torch and dusk.adapt_bn against their oracles: dusk's own head
tensors, the weights file byte for byte, Debian's darknet reading a file
saved from torch, and PyTorch's own BatchNorm in training mode."""
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import dusk

torch = pytest.importorskip("torch", reason="dusk.torch needs python3-torch, which scripts/setup installs")
import dusk.torch as dt  # noqa: E402

from dusk_test_paths import SHARED, DUSK, CFG, WEIGHTS
PUBLIC_CFGS = sorted((SHARED / "cfg").glob("*.cfg"))
# The project's own cfgs: between them every layer kind and activation dusk runs.
PROJECT_CFGS = sorted((Path(os.environ["DUSK_SOURCE_DIR"]) / "cfg").glob("*.cfg"))
DARKNET_DATA = Path("/usr/share/darknet/data")

torch.set_num_threads(2)


def network_input(cfg):
    """A seeded image at the network's own size (dusk's resize of it is the
    identity) as an HxWx3 RGB array and as torch's 1x3xHxW input."""
    _, h, w = dusk._dusk.graph(str(cfg), 0, 0)["input"]
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return image, torch.from_numpy(image.astype(np.float32).transpose(2, 0, 1) / 255.0)[None]


def assert_heads_match(module, cfg, weights):
    image, x = network_input(cfg)
    expected = dusk.forward(str(cfg), str(weights), image, rgb=True)
    with torch.no_grad():
        got = module.eval()(x)
    assert len(got) == len(expected)
    for (name, want), have in zip(expected.items(), got):
        have = have[0].numpy()
        assert have.shape == want.shape, name
        largest = float(np.abs(want).max())
        assert np.abs(have - want).max() <= 1e-4 * largest, f"{cfg.name} {name}"


@pytest.fixture(scope="module")
def random_pairs(tmp_path_factory):
    """Each public cfg with seeded random weights."""
    directory = tmp_path_factory.mktemp("random")
    pairs = []
    for cfg in PUBLIC_CFGS:
        weights = directory / (cfg.stem + ".weights")
        dusk._dusk.write_random_weights(str(cfg), str(weights), 1)
        pairs.append((cfg, weights))
    return pairs


def test_every_public_cfg_gives_dusks_heads_and_saves_byte_for_byte(random_pairs, tmp_path):
    assert len(random_pairs) >= 10
    for cfg, weights in random_pairs:
        module = dt.load(cfg, weights)
        assert_heads_match(module, cfg, weights)
        saved = tmp_path / "saved.weights"
        dt.save(module, cfg, saved)
        assert filecmp.cmp(saved, weights, shallow=False), cfg.name


def test_every_layer_kind_and_activation_gives_dusks_output_layer_by_layer(tmp_path):
    kinds, activations = set(), set()
    for cfg in PROJECT_CFGS:
        weights = tmp_path / (cfg.stem + ".weights")
        dusk._dusk.write_random_weights(str(cfg), str(weights), 3)
        graph = dusk._dusk.graph(str(cfg), 0, 0)
        every = list(range(len(graph["layers"])))
        kinds |= {layer["kind"] for layer in graph["layers"]}
        activations |= {layer["spec"]["activation"] for layer in graph["layers"] if "activation" in layer["spec"]}
        image, x = network_input(cfg)
        expected = dusk.forward(str(cfg), str(weights), image, layers=every, rgb=True)
        with torch.no_grad():
            got = dt.load(cfg, weights).eval().forward_layers(x, every)
        for index, (name, want) in zip(every, expected.items()):
            have = got[index][0].numpy().reshape(want.shape)
            assert np.abs(have - want).max() <= 1e-4 * max(float(np.abs(want).max()), 1e-30), f"{cfg.name} {name}"
    assert len(kinds) == 22 and len(activations) == 23, (sorted(kinds), sorted(activations))  # all of dusk's


def test_the_trained_model_gives_dusks_heads_and_saves_byte_for_byte(tmp_path):
    module = dt.load(CFG, WEIGHTS)
    assert_heads_match(module, Path(CFG), WEIGHTS)
    dt.save(module, CFG, tmp_path / "same.weights")
    assert filecmp.cmp(tmp_path / "same.weights", WEIGHTS, shallow=False)
    # One submodule per Darknet layer, BatchNorm as torch's own with the file's statistics.
    assert len(module.layers) == len(dusk.inspect(CFG, WEIGHTS)["layers"])
    bn = module.layers[0].bn
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.eps == 1e-5
    _, blocks = dusk._dusk.read_weights(CFG, WEIGHTS)
    assert np.array_equal(bn.running_var.numpy(), blocks[0]["variance"])


def percent_lines(output):
    return sorted(line.split("%")[0] + "%" for line in output.splitlines() if ": " in line and "%" in line)


def close_percentages(darknet, ours):
    """Same labels; each percentage within one point (pjreddie's BatchNorm puts
    eps outside the square root, as tests/test_darknet.cpp explains)."""
    assert len(darknet) == len(ours), (darknet, ours)
    remaining = [(line.rsplit(": ", 1)[0], int(line.rsplit(": ", 1)[1][:-1])) for line in darknet]
    for line in ours:
        label, percent = line.rsplit(": ", 1)[0], int(line.rsplit(": ", 1)[1][:-1])
        match = next((d for d in remaining if d[0] == label and abs(d[1] - percent) <= 1), None)
        assert match is not None, (line, darknet)
        remaining.remove(match)


def test_weights_changed_in_torch_are_read_back_by_dusk_and_darknet(tmp_path):
    module = dt.load(CFG, WEIGHTS)
    with torch.no_grad():
        module.layers[0].conv.weight.mul_(1.1)
        module.layers[1].bn.bias.add_(0.05)
        module.layers[2].bn.running_var.mul_(1.2)
        head_conv = module.layers[module.heads[-1] - 1].conv
        head_conv.bias.add_(0.3)
    changed = tmp_path / "changed.weights"
    dt.save(module, CFG, changed)
    assert not filecmp.cmp(changed, WEIGHTS, shallow=False)
    assert_heads_match(module, Path(CFG), changed)
    image, _ = network_input(CFG)
    before = dusk.forward(CFG, WEIGHTS, image, rgb=True)
    after = dusk.forward(CFG, str(changed), image, rgb=True)
    assert max(np.abs(before[k] - after[k]).max() for k in before) > 1e-2  # the change matters

    (tmp_path / "data").symlink_to(DARKNET_DATA)
    dog = str(DARKNET_DATA / "dog.jpg")
    darknet = subprocess.run(["timeout", "300", "/usr/bin/darknet", "detector", "test", "/usr/share/darknet/cfg/coco.data",
                              CFG, str(changed), dog, "-thresh", "0.25", "-out", "predictions"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert darknet.returncode == 0, darknet.stderr[-2000:]
    ours = subprocess.run([DUSK, "detect", CFG, str(changed), dog, "--letterbox", "--names",
                           str(DARKNET_DATA / "coco.names")], capture_output=True, text=True, check=True)
    assert len(percent_lines(darknet.stdout)) >= 2
    close_percentages(percent_lines(darknet.stdout), percent_lines(ours.stdout))


def sized_images(directory, count, size):
    """coco128 images scaled to the network's size and stored losslessly, so
    dusk's fitting is the identity and torch reads the same pixels."""
    paths = []
    for source in sorted((SHARED / "data" / "coco128" / "images" / "val2017").glob("*.jpg"))[:count]:
        path = directory / (source.stem + ".png")
        cv2.imwrite(str(path), cv2.resize(cv2.imread(str(source)), size, interpolation=cv2.INTER_AREA))
        paths.append(path)
    return paths


def torch_batches(paths, batch):
    images = [torch.from_numpy(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB).astype(np.float32)
                               .transpose(2, 0, 1) / 255.0) for p in paths]
    return [torch.stack(images[i:i + batch]) for i in range(0, len(images), batch)]


def batchnorms(module):
    return {index: layer.bn for index, layer in enumerate(module.layers) if getattr(layer, "bn", None) is not None}


@pytest.mark.parametrize("momentum", [None, 0.1])
def test_adapt_bn_statistics_equal_pytorchs_training_mode(tmp_path, momentum):
    paths = sized_images(tmp_path, 14, (320, 320))
    out = tmp_path / "adapted.weights"
    result = dusk.adapt_bn(CFG, WEIGHTS, paths, out, batch=4, momentum=momentum)
    assert result["images"] == 14 and result["batches"] == 4 and result["skipped"] == []

    module = dt.load(CFG, WEIGHTS).train()
    for bn in batchnorms(module).values():
        bn.momentum = momentum
        if momentum is None:
            bn.reset_running_stats()  # PyTorch's cumulative average starts afresh
    with torch.no_grad():
        for batch in torch_batches(paths, 4):
            module(batch)
    header, got = dusk._dusk.read_weights(CFG, str(out))
    assert header["seen"] == dusk._dusk.read_weights(CFG, WEIGHTS)[0]["seen"] + 14
    assert len(result["layers"]) == len(batchnorms(module)) > 50
    for index, bn in batchnorms(module).items():
        mean, variance = bn.running_mean.numpy(), bn.running_var.numpy()
        # Variances within 1e-4 relative. A mean near zero is a difference of
        # large sums, so it is measured in units of the channel's deviation.
        assert np.all(np.abs(got[index]["variance"] - variance) <= 1e-4 * variance), index
        assert np.all(np.abs(got[index]["mean"] - mean) <= 1e-4 * np.sqrt(variance)), index
    # Everything else is the input's.
    _, original = dusk._dusk.read_weights(CFG, WEIGHTS)
    for before, after in zip(original, got):
        for name in before:
            if name not in ("mean", "variance"):
                assert np.array_equal(before[name], after[name])


def test_adapt_bn_on_connected_and_batchnorm_layers_equals_pytorchs(tmp_path):
    cfg = next(c for c in PROJECT_CFGS if c.name == "kinds-mix.cfg")
    weights = tmp_path / "kinds.weights"
    dusk._dusk.write_random_weights(str(cfg), str(weights), 5)
    rng = np.random.default_rng(2)
    paths = []
    for i in range(10):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        paths.append(path)
    result = dusk.adapt_bn(cfg, weights, paths, tmp_path / "out.weights", batch=4)
    assert result["batches"] == 3
    module = dt.load(cfg, weights).train()
    kinds = set()
    for layer in module.layers:
        if getattr(layer, "bn", None) is not None:
            layer.bn.momentum = None
            layer.bn.reset_running_stats()
            kinds.add(layer.kind)
    assert kinds == {"convolutional", "connected", "batchnorm"}
    with torch.no_grad():
        for batch in torch_batches(paths, 4):
            module(batch)
    _, got = dusk._dusk.read_weights(str(cfg), str(tmp_path / "out.weights"))
    for index, bn in batchnorms(module).items():
        variance = bn.running_var.numpy()
        assert np.all(np.abs(got[index]["variance"] - variance) <= 1e-4 * variance), index
        assert np.all(np.abs(got[index]["mean"] - bn.running_mean.numpy()) <= 1e-4 * np.sqrt(variance)), index


def test_adapt_bn_bad_input(tmp_path):
    paths = sized_images(tmp_path, 3, (320, 320))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    result = dusk.adapt_bn(CFG, WEIGHTS, [paths[0], broken, paths[1], paths[2]], tmp_path / "a.weights", batch=2)
    assert [p for p, _ in result["skipped"]] == [str(broken)]
    assert result["images"] == 3
    with pytest.raises(dusk.Error, match="is the input"):
        dusk.adapt_bn(CFG, WEIGHTS, paths, WEIGHTS)
    with pytest.raises(dusk.Error, match="is a directory"):
        dusk.adapt_bn(CFG, WEIGHTS, [tmp_path], tmp_path / "b.weights")
    plain = tmp_path / "plain.cfg"
    plain.write_text("[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=4\nsize=3\npad=1\n")
    dusk._dusk.write_random_weights(str(plain), str(tmp_path / "plain.weights"), 1)
    with pytest.raises(dusk.Error, match="has no BatchNorm"):
        dusk.adapt_bn(plain, tmp_path / "plain.weights", paths, tmp_path / "c.weights")
    assert not (tmp_path / "c.weights").exists()


def test_a_kind_torch_cannot_express_is_refused_by_name():
    graph = dusk._dusk.graph(CFG, 0, 0)
    header, layers = dusk._dusk.read_weights(CFG, WEIGHTS)
    graph["layers"][3]["kind"] = "lstm"
    with pytest.raises(dusk.Error, match=r"cannot express \[lstm\]"):
        dt.DarknetModule(graph, layers, header)


def test_save_refuses_other_modules_and_misfits(tmp_path):
    with pytest.raises(dusk.Error, match="takes the module dusk.torch.load made"):
        dt.save(torch.nn.Linear(2, 2), CFG, tmp_path / "x.weights")
    module = dt.load(CFG, WEIGHTS)
    with pytest.raises(dusk.Error, match="layers but"):
        dt.save(module, PUBLIC_CFGS[0], tmp_path / "x.weights")  # another cfg
    assert not (tmp_path / "x.weights").exists()


def test_without_torch_the_message_says_what_to_install():
    code = "import sys; sys.modules['torch'] = None\ntry:\n import dusk.torch\nexcept ImportError as e:\n print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "python3-torch" in out
