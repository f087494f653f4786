"""C source for the fixture headers the tools/make_*fixtures*.py scripts
write: tensors as static arrays holding their exact float32 or int64 values."""
from script_help import answer_help

if __name__ == "__main__":
    answer_help(__doc__)

import torch


def c_float(v):
    """A float literal that reads back as the same float32 ("%.9g" round
    trips one; integral values get ".0f" to stay floats; NaN and the
    infinities are math.h's NAN and INFINITY)."""
    if v != v:
        return "NAN"
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "-INFINITY"
    s = "%.9g" % v
    return s + ("f" if any(ch in s for ch in ".e") else ".0f")


def c_array(name, t):
    """static const float name[] = {...}; (int64_t for an int64 tensor)."""
    t = t.detach().contiguous()
    if t.dtype == torch.int64:
        return "static const int64_t %s[] = {%s};" % (name, ", ".join(str(int(v)) for v in t.flatten().tolist()))
    return "static const float %s[] = {%s};" % (name, ", ".join(c_float(v) for v in t.flatten().tolist()))
