"""PyTorch reference for one Action Matching training step (the peer baseline).

(The project's first PyTorch peer, shared/perf-ref/torch_am.py, kept here so that every figure
of perf/README.md is reproducible from this repository; its one addition: --device cuda runs it
on a GPU, --tf32 lets float32 products use TF32 tensor cores there, off by default as in PyTorch.)

Run with Debian's interpreter (apt-get install -y python3-torch; /usr/bin/python3 torch_am.py --help)
or with a current torch from PyPI in a virtual environment: it runs unchanged under torch 2.x.

Same network as the project's default: s(x,t) = MLP([x, t]) with SiLU, `depth` hidden
layers of `width`, scalar output. Loss (plain AM, Neklyudov et al. 2023):
  L = E_q0[s(x,0)] - E_q1[s(x,1)] + E_{t~U(0,1), x~q_t}[ 1/2 |grad_x s|^2 + d_t s ]
entropic AM adds + sigma^2/2 * Laplacian_x s (exact, by d extra backward passes).
Timing covers forward, double-backward and Adam, on pre-generated batches.
"""
import argparse, json, time
import torch

def mlp(d, width, depth, dtype):
    layers, fan_in = [], d + 1
    for _ in range(depth):
        layers += [torch.nn.Linear(fan_in, width), torch.nn.SiLU()]
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, 1))
    return torch.nn.Sequential(*layers).to(dtype)

def am_loss(net, x0, x1, xt, t, sigma=0.0):
    s0 = net(torch.cat([x0, torch.zeros_like(x0[:, :1])], 1)).mean()
    s1 = net(torch.cat([x1, torch.ones_like(x1[:, :1])], 1)).mean()
    xt = xt.detach().requires_grad_(True)
    t = t.detach().requires_grad_(True)
    s = net(torch.cat([xt, t], 1))
    gx, gt = torch.autograd.grad(s.sum(), [xt, t], create_graph=True)
    inner = 0.5 * (gx ** 2).sum(1) + gt[:, 0]
    if sigma > 0:
        lap = 0
        for i in range(xt.shape[1]):
            lap = lap + torch.autograd.grad(gx[:, i].sum(), xt, create_graph=True)[0][:, i]
        inner = inner + 0.5 * sigma ** 2 * lap
    return s0 - s1 + inner.mean()

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=20)
    # The fastest intra-op thread count depends on the build: Debian's torch 1.13 is fastest
    # with 1 (its products run in OpenBLAS's own threads; 2 oversubscribe), a current PyPI
    # torch 2.x (MKL) with 2 on a 2-core machine. Compare against the faster of the two.
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sigma", type=float, default=0.0)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--tf32", action="store_true", help="float32 products on TF32 tensor cores (GPU)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    dev = torch.device(a.device)
    torch.manual_seed(0)
    dt = getattr(torch, a.dtype)
    net = mlp(a.dim, a.width, a.depth, dt).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    B, d = a.batch, a.dim
    x0 = torch.randn(B, d, dtype=dt).to(dev); x1 = torch.randn(B, d, dtype=dt).to(dev) + 2
    t = torch.rand(B, 1, dtype=dt).to(dev); xt = (1 - t) * x0 + t * x1
    def step():
        opt.zero_grad(set_to_none=True)
        loss = am_loss(net, x0, x1, xt, t, a.sigma)
        loss.backward(); opt.step()
        return loss.item()  # on a GPU: waits for the step
    for _ in range(3): step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"impl": "pytorch-" + torch.__version__, "dim": d, "width": a.width,
                      "depth": a.depth, "batch": B, "sigma": a.sigma, "threads": a.threads,
                      "device": (torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"), "tf32": a.tf32,
                      "dtype": a.dtype,
                      "median_step_s": times[len(times) // 2], "min_step_s": times[0],
                      "samples_per_s": B / times[len(times) // 2]}))

if __name__ == "__main__":
    main()
