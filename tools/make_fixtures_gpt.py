#!/usr/bin/python3
"""Writes tests/examples/fixtures/gpt_step.safetensors: one training step of
examples/gpt_chars.c's GPT, tiny, in PyTorch, for its parity test
(`gpt_chars --check FILE` with the flags examples/meson.build passes).

The model (GPT below, which bench/bench_gpt.py times too): token and
position embeddings (N(0, 0.02)), pre-LN blocks that are
nn.TransformerEncoderLayer(norm_first=True, activation="gelu",
dim_feedforward=4 dim, dropout=0, batch_first=True) under a causal mask, a
final LayerNorm, the output layer tied to the token embedding. The step:
mean cross-entropy of the next tokens, backward, clip_grad_norm_ to CLIP,
AdamW (betas 0.9, 0.99) with weight decay on the matrices only, at the
first step's learning rate (warm-up: LR / WARMUP).

The file holds "model.<name>" (the weights, drawn, LayerNorms included),
"inputs" and "targets" (int64, BATCH x BLOCK), "loss", "grad.<name>"
(before clipping) and "updated.<name>" (after the step). The clipping must
act: the script checks that the gradients' norm is above CLIP.

Run from the repository root:  /usr/bin/python3 tools/make_fixtures_gpt.py
The tests never need Python; rerun this only when the model changes."""
from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from make_fixtures_safetensors import write_torch_file  # noqa: E402

VOCAB, LAYERS, HEADS, DIM, BLOCK, BATCH = 11, 2, 2, 16, 8, 3
LR, WARMUP, WEIGHT_DECAY, CLIP = 0.01, 4, 0.1, 0.5
OUT = "tests/examples/fixtures/gpt_step.safetensors"


class GPT(nn.Module):
    """examples/gpt_chars.c's model, under its state_dict names."""

    def __init__(self, vocab, layers, heads, dim, block, dropout=0.0):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(block, dim)
        nn.init.normal_(self.wte.weight, 0, 0.02)
        nn.init.normal_(self.wpe.weight, 0, 0.02)
        self.h = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, "gelu", batch_first=True,
                                                          norm_first=True) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        mask = torch.triu(torch.full((t, t), float("-inf")), 1)
        for block in self.h:
            x = block(x, src_mask=mask)
        return F.linear(self.ln_f(x), self.wte.weight)

    def loss(self, inputs, targets):
        logits = self(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def adamw(model, weight_decay, lr):
    """AdamW in gpt_chars' two groups: decay on matrices, none on vectors."""
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def drawn(model, g):
    """Every weight redrawn, so the LayerNorms' ones and zeros are not what is checked."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name or "ln_f" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g) + (1.0 if name.endswith("weight") else 0.0))


def main():
    g = torch.Generator().manual_seed(20261207)
    torch.manual_seed(20261207)
    model = GPT(VOCAB, LAYERS, HEADS, DIM, BLOCK)
    drawn(model, g)
    tokens = torch.randint(0, VOCAB, (BATCH, BLOCK + 1), generator=g)
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    out = {"model." + k: v.detach().clone() for k, v in model.state_dict().items()}
    out["inputs"], out["targets"] = inputs, targets
    opt = adamw(model, WEIGHT_DECAY, LR / WARMUP)
    loss = model.loss(inputs, targets)
    loss.backward()
    out["loss"] = loss.detach().clone()
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    assert norm > CLIP, f"the gradients' norm {norm} must exceed {CLIP} for the clipping to act"
    opt.step()
    for name, p in model.named_parameters():
        out["updated." + name] = p.detach().clone()
    write_torch_file(OUT, out, {"made_by": "tools/make_fixtures_gpt.py"})
    print(f"wrote {OUT}: loss {loss.item():.6f}, gradient norm {norm:.4f}")


if __name__ == "__main__":
    main()
