"""Does torch keep one cuBLAS workspace per stream or per handle? (session 14, issue 20)

Two matrix products, each on a new non-blocking stream made through the driver as
``harness.gpu.harness_stream`` makes them, and the bytes torch's caching allocator holds
after each: a new workspace per stream shows as a second step of the same size.

    python benchmarks/device/workspace_per_stream.py
"""

import torch

from harness import gpu

torch.cuda.init()
x = torch.ones((64, 64), device="cuda", dtype=torch.float16)
steps = []
for _ in range(3):
    ext = torch.cuda.ExternalStream(gpu.stream_handle(gpu.harness_stream()))
    with torch.cuda.stream(ext):
        before = torch.cuda.memory_allocated()
        (x @ x).sum().item()
        torch.cuda.synchronize()
        steps.append(torch.cuda.memory_allocated() - before)
print("bytes allocated by the first product on each new stream:", steps)
print("torch", torch.__version__)
