#!/usr/bin/python3
"""The PyTorch side of tools/check_torchvision_interop.sh.

  check_torchvision_interop.py write DIR   torchvision ResNet-18 (seed 0) ->
      DIR/tv18.safetensors (its state_dict), DIR/io.safetensors (an input x
      and torchvision's eval logits y)
  check_torchvision_interop.py verify DIR  loads DIR/tg18.safetensors (written
      by tensorgrad) into torchvision's ResNet-18, strictly, and checks that
      it gives the logits y again (exit 1 otherwise)"""
import os
import sys

from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures_safetensors as st  # noqa: E402  (the hand-written safetensors I/O)


def write(out):
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    st.write_torch_file(os.path.join(out, "tv18.safetensors"), dict(model.state_dict()), {"format": "pt"})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
    st.write_torch_file(os.path.join(out, "io.safetensors"), {"x": x, "y": y, "unused": torch.zeros(1)}, {})


def verify(out):
    weights, _ = st.read_file(os.path.join(out, "tg18.safetensors"))
    model = torchvision.models.resnet18().eval()
    model.load_state_dict(weights, strict=True)
    io, _ = st.read_file(os.path.join(out, "io.safetensors"))
    with torch.no_grad():
        d = (model(io["x"]) - io["y"]).abs().max().item()
    print("torchvision with tensorgrad's file: logits within %.3g of the original" % d)
    return 0 if d <= 1e-6 else 1


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    sys.exit(write(out) if mode == "write" else verify(out))
