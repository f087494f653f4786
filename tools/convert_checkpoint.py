#!/usr/bin/python3
"""Converts an official DenseCL or MoCo checkpoint (.pth) into the
torchvision-named safetensors file of its query backbone, which
finetune_seg --backbone loads ("conv1.weight", "layer1.0.bn1.running_mean").

  /usr/bin/python3 tools/convert_checkpoint.py densecl_r50_imagenet_200ep.pth densecl_r50.safetensors
  finetune_seg --backbone densecl_r50.safetensors --depth 50 --width 1 --stem standard --voc VOCdevkit/VOC2012
  /usr/bin/python3 tools/convert_checkpoint.py --self-test

The tensors are read from the file's "state_dict" (or its top level), a
leading "module." (DistributedDataParallel) dropped, and the backbone taken
from the first layout found:
  "backbone.conv1.weight"         DenseCL / OpenSelfSup training checkpoints
  "encoder_q.0.conv1.weight"      the same, through the query encoder
  "encoder_q.conv1.weight"        MoCo (v1/v2) training checkpoints
  "conv1.weight"                  already extracted (DenseCL's released weights)
Classifier or MLP-head keys ("fc.*") and everything else (key encoder,
necks, queues) are left out. BatchNorm layers without num_batches_tracked
(older PyTorch) get one, 0, so the file loads strictly. Needs torch only
(Debian's python3-torch); --self-test makes fake checkpoints of each
layout from a torchvision ResNet-18 and checks what comes out."""
import os
import sys
import tempfile

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures_safetensors as st  # noqa: E402  (the hand-written safetensors I/O)

PREFIXES = ("backbone.", "encoder_q.0.", "encoder_q.", "")


def state_dict_of(checkpoint):
    sd = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(sd, dict):
        raise ValueError("the file holds no state_dict")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def backbone_of(sd):
    """The query backbone's tensors under torchvision names, and the prefix they had."""
    for prefix in PREFIXES:
        if prefix + "conv1.weight" not in sd:
            continue
        out = {}
        for k, v in sd.items():
            name = k[len(prefix):]
            if k.startswith(prefix) and not name.startswith("fc.") and torch.is_tensor(v):
                out[name] = v
        if prefix == "":  # only what a torchvision ResNet holds
            out = {k: v for k, v in out.items() if k.split(".")[0] in ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4")}
        return out, prefix
    raise ValueError("no ResNet backbone found (looked for %s)" % ", ".join(p + "conv1.weight" for p in PREFIXES))


def add_batches_tracked(sd):
    """sd with a 0 num_batches_tracked after each running_var that has none (torchvision's order)."""
    out = {}
    for k, v in sd.items():
        out[k] = v
        tracked = k[: -len("running_var")] + "num_batches_tracked"
        if k.endswith(".running_var") and tracked not in sd:
            out[tracked] = torch.tensor(0, dtype=torch.int64)
    return out


def tensors_for_file(sd):
    out = {}
    for k, v in sd.items():
        v = v.detach().cpu()
        out[k] = v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32)
    return out


def convert(src, dst):
    checkpoint = torch.load(src, map_location="cpu")
    sd, prefix = backbone_of(state_dict_of(checkpoint))
    sd = tensors_for_file(add_batches_tracked(sd))
    st.write_torch_file(dst, sd, {"format": "pt", "source": os.path.basename(src)})
    return len(sd), prefix


# ---- self-test ----

def fake_checkpoints(model):
    """Each layout the converter reads, holding model's backbone as the query."""
    sd = model.state_dict()
    other = {k: torch.randn_like(v.float()) for k, v in sd.items()}
    head = {"fc.0.weight": torch.randn(8, 512), "fc.0.bias": torch.randn(8), "fc.2.weight": torch.randn(4, 8)}
    queues = {"queue": torch.randn(4, 16), "queue_ptr": torch.zeros(1, dtype=torch.long)}
    no_fc = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    densecl = {"backbone." + k: v for k, v in no_fc.items()}
    densecl.update({"encoder_q.0." + k: v for k, v in no_fc.items()})
    densecl.update({"encoder_q.1.mlp.0.weight": torch.randn(8, 512), "encoder_k.0.conv1.weight": other["conv1.weight"]})
    densecl.update(queues)
    moco = {"module.encoder_q." + k: v for k, v in no_fc.items()}
    moco.update({"module.encoder_q." + k: v for k, v in head.items()})
    moco.update({"module.encoder_k." + k: other[k] for k in no_fc})
    moco.update({"module." + k: v for k, v in queues.items()})
    old = {"module.encoder_q.0." + k: v for k, v in no_fc.items() if not k.endswith("num_batches_tracked")}
    return {
        "densecl": {"state_dict": densecl, "meta": {"epoch": 200}},
        "moco": {"epoch": 200, "arch": "resnet18", "state_dict": moco, "optimizer": {}},
        "ddp_old": {"state_dict": old},
        "extracted": {"state_dict": dict(no_fc)},
        "torchvision": dict(sd),
    }


def self_test():
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    want = {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for name, checkpoint in fake_checkpoints(model).items():
            src, dst = os.path.join(d, name + ".pth"), os.path.join(d, name + ".safetensors")
            torch.save(checkpoint, src)
            n, prefix = convert(src, dst)
            got, meta = st.read_file(dst)
            same = list(got) == list(want) and all(torch.equal(got[k], want[k].to(got[k].dtype)) for k in want)
            if name == "ddp_old":  # num_batches_tracked made up: 0
                same = list(got) == list(want) and all(
                    torch.equal(got[k], torch.tensor(0) if k.endswith("num_batches_tracked") else want[k]) for k in want)
            trunk = torchvision.models.resnet18()
            missing, unexpected = trunk.load_state_dict(got, strict=False)
            same = same and missing == ["fc.weight", "fc.bias"] and not unexpected and meta.get("format") == "pt"
            print("%-12s prefix %-14r %3d tensors  %s" % (name, prefix, n, "ok" if same else "WRONG"))
            failures += not same
        bad = os.path.join(d, "bad.pth")
        torch.save({"state_dict": {"head.weight": torch.zeros(1)}}, bad)
        try:
            convert(bad, os.path.join(d, "bad.safetensors"))
            print("a checkpoint without a backbone was converted: WRONG")
            failures += 1
        except ValueError as e:
            print("no backbone: refused (%s)" % e)
    print("self-test %s" % ("passed" if not failures else "FAILED"))
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 3 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    try:
        n, prefix = convert(argv[1], argv[2])
    except (ValueError, OSError) as e:
        print("convert_checkpoint: %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    print("wrote %s: %d tensors of the query backbone (keys %r...)" % (argv[2], n, prefix + "conv1.weight"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
