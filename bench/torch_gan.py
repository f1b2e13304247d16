#!/usr/bin/env python3
"""PyTorch reference for the GAN benchmark (crates/model/benches/gan.rs).

Rebuilds the architecture of crates/model/src/model.rs layer for layer from a model
config.json (GanConfig) and times, on CPU:

- generation: 8 bars of 4/4 x the config's tracks at batch 1, window by window as
  crates/model/src/inference.rs walks a song (window_bars bars, hop window_bars - 1): per window
  one generator forward, sigmoid, canvas paste, one spectrally normalized critic forward, and
  the probabilities brought back to the host and thresholded;
- one training step at batch 32 as crates/model/src/training.rs does it: `critic_updates`
  hinge-loss critic updates (generator forward without grad, critic on real and pasted fake,
  Adam), then a generator update (adversarial term + weighted BCE reconstruction on hidden
  cells, Adam). Batches are drawn fresh each step (sparse random rolls, random canvas masks).

Both networks are plain fp32; weights are random (timings do not depend on their values).
Prints one JSON object per config on stdout (the Rust bench reads it) and a table on stderr.

Usage: OMP_WAIT_POLICY=PASSIVE python3 bench/torch_gan.py --threads 2 CONFIG.json [...]
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SLOPE = 0.2
POSITION_CHANNELS = 4


class Conv(torch.nn.Module):
    """Conv1d with 'same' padding for stride 1, none for strided ones (as model.rs Conv)."""

    def __init__(self, cin, cout, kernel, stride=1, dilation=1):
        super().__init__()
        bound = math.sqrt(3.0 / (cin * kernel))
        self.weight = torch.nn.Parameter(torch.empty(cout, cin, kernel).uniform_(-bound, bound))
        self.bias = torch.nn.Parameter(torch.zeros(cout))
        self.stride = stride
        self.dilation = dilation
        self.padding = dilation * (kernel - 1) // 2 if stride == 1 else 0

    def forward(self, x, weight=None):
        w = self.weight if weight is None else weight
        return F.conv1d(x, w, self.bias, self.stride, self.padding, self.dilation)

    def forward_normalized(self, x, u):
        """One power iteration from `u` (updated in place, no grad), weight / sigma."""
        w = self.weight
        cout = w.shape[0]
        with torch.no_grad():
            flat = w.detach().reshape(cout, -1)
            v = F.normalize(flat.t() @ u, dim=0, eps=1e-12)
            u.copy_(F.normalize(flat @ v, dim=0, eps=1e-12))
            outer = torch.outer(u, v).reshape(w.shape)
        sigma = (w * outer).sum()
        return self.forward(x, w / sigma)


class Generator(torch.nn.Module):
    def __init__(self, p, side, c, cb, z):
        super().__init__()
        self.pitch_in = Conv(p + side, c, 1)
        self.step_in = Conv(c, c, 3)
        self.to_beats = Conv(c, cb, 4, stride=4)
        self.latent = Conv(z, cb, 1)
        self.beat1 = Conv(cb, cb, 3, dilation=1)
        self.beat2 = Conv(cb, cb, 3, dilation=2)
        self.beat3 = Conv(cb, cb, 3, dilation=4)
        self.from_beats = Conv(cb, c, 1)
        self.step_out = Conv(c, c, 3)
        self.pitch_out = Conv(c, p, 1)

    def forward(self, canvas, latent):
        h = F.leaky_relu(self.pitch_in(canvas), SLOPE)
        h = h + F.leaky_relu(self.step_in(h), SLOPE)
        beats = F.leaky_relu(self.to_beats(h), SLOPE)
        beats = beats + self.latent(latent.unsqueeze(2))
        beats = beats + F.leaky_relu(self.beat1(beats), SLOPE)
        beats = beats + F.leaky_relu(self.beat2(beats), SLOPE)
        beats = beats + F.leaky_relu(self.beat3(beats), SLOPE)
        up = beats.repeat_interleave(4, dim=2)
        h = h + self.from_beats(up)
        h = F.leaky_relu(self.step_out(h), SLOPE)
        return self.pitch_out(h)


class Critic(torch.nn.Module):
    def __init__(self, p, side, cc):
        super().__init__()
        self.pitch_in = Conv(p + side, cc, 1)
        self.to_beats = Conv(cc, 2 * cc, 4, stride=4)
        self.beat = Conv(2 * cc, 2 * cc, 3)
        self.to_bars = Conv(2 * cc, 2 * cc, 4, stride=4)
        self.score = Conv(2 * cc, 1, 1)
        self.layers = [self.pitch_in, self.to_beats, self.beat, self.to_bars, self.score]
        self.u = [F.normalize(torch.randn(layer.weight.shape[0]), dim=0) for layer in self.layers]

    def forward(self, roll, side):
        u = self.u
        x = torch.cat([roll, side], 1)
        h = F.leaky_relu(self.pitch_in.forward_normalized(x, u[0]), SLOPE)
        h = F.leaky_relu(self.to_beats.forward_normalized(h, u[1]), SLOPE)
        h = h + F.leaky_relu(self.beat.forward_normalized(h, u[2]), SLOPE)
        h = F.leaky_relu(self.to_bars.forward_normalized(h, u[3]), SLOPE)
        pooled = h.mean(dim=2, keepdim=True)
        score = self.score.forward_normalized(pooled, u[4])
        return score.reshape(score.shape[0], 1)


class Shapes:
    def __init__(self, config):
        rows = [r for _, r in config["pitch_ranges"]]
        self.roles = len(rows)
        self.rows = rows
        self.p = 2 * sum(rows)
        self.side = self.roles + POSITION_CHANNELS
        self.t = (config["max_window_steps"] + 15) // 16 * 16
        self.spb = config["steps_per_beat"]
        self.channel_role = []
        for r, n in enumerate(rows):
            self.channel_role += [r] * (2 * n)
        self.channel_role = torch.tensor(self.channel_role)


def random_batch(shapes, batch, latent, gen):
    """Sparse rolls, random canvases (melody known, random context and locks), positions."""
    t = shapes.t
    roll = (torch.rand(batch, shapes.p, t, generator=gen) < 0.03).float()
    known = torch.zeros(batch, shapes.roles, t)
    known[:, 0, :] = 1.0
    context = (torch.rand(batch, generator=gen) < 0.5).float()
    known[:, 1:, :16] = context.view(batch, 1, 1)
    locked = (torch.rand(batch, shapes.roles - 1, generator=gen) < 0.15).float()
    known[:, 1:, :] = torch.maximum(known[:, 1:, :], locked.unsqueeze(2))
    position = torch.zeros(batch, POSITION_CHANNELS, t)
    steps = torch.arange(t)
    position[:, 0] = 1.0
    position[:, 1] = (steps % 16 == 0).float()
    position[:, 2] = (steps % shapes.spb == 0).float()
    position[:, 3] = (steps % 16).float() / 16.0
    side = torch.cat([known, position], 1)
    cell_known = known[:, shapes.channel_role, :]
    z = torch.randn(batch, latent, generator=gen)
    return roll, cell_known, side, z


def canvas_of(roll, cell_known, side):
    return torch.cat([roll * cell_known, side], 1)


def paste(roll, cell_known, probs):
    return roll * cell_known + probs * (1.0 - cell_known)


def train_step(config, shapes, gen_net, critic, opt_g, opt_d, batch, gen, recon_weight=1.0,
               positive_weight=4.0):
    latent = config["latent"]
    for _ in range(config.get("critic_updates", 1)):
        roll, cell_known, side, z = random_batch(shapes, batch, latent, gen)
        with torch.no_grad():
            fake = torch.sigmoid(gen_net(canvas_of(roll, cell_known, side), z))
        fake = paste(roll, cell_known, fake)
        real_score = critic(roll, side)
        fake_score = critic(fake, side)
        real_part = F.relu(1.0 - real_score).mean()
        fake_part = F.relu(1.0 + fake_score).mean()
        loss = real_part + fake_part
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        _ = (real_part.item(), fake_part.item(), loss.item())
    roll, cell_known, side, z = random_batch(shapes, batch, latent, gen)
    logits = gen_net(canvas_of(roll, cell_known, side), z)
    full = paste(roll, cell_known, torch.sigmoid(logits))
    adv = -critic(full, side).mean()
    hidden = 1.0 - cell_known
    bce = F.relu(logits) - logits * roll + torch.log1p(torch.exp(-logits.abs()))
    weight = (roll * (positive_weight - 1.0) + 1.0) * hidden
    recon = (bce * weight).sum() / (hidden.sum() + 1.0)
    loss = adv + recon * recon_weight
    opt_g.zero_grad(set_to_none=True)
    # As in burn, the backward pass also reaches the critic's weights; only G is stepped.
    critic.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    _ = (adv.item(), recon.item(), loss.item())


def windows_for(config, bars):
    w = max(config["window_bars"], 1)
    hop = w - 1 if w > 1 else 1
    out, first = [], 0
    while True:
        last = min(first + w, bars)
        out.append(last - first)
        if last >= bars:
            return out
        first += hop


def generate(config, shapes, gen_net, critic, bars, gen):
    """One song: every window through G and the critic at batch 1, results to the host."""
    latent = config["latent"]
    thr = config.get("onset_threshold", 0.5)
    notes = 0
    with torch.no_grad():
        for window_bars in windows_for(config, bars):
            valid = min(window_bars * 16, shapes.t)
            roll, cell_known, side, z = random_batch(shapes, 1, latent, gen)
            probs = torch.sigmoid(gen_net(canvas_of(roll, cell_known, side), z))
            full = paste(roll, cell_known, probs)
            score = critic(full, side)
            host = full.numpy()
            notes += int((host[0, :, :valid] > thr).sum())
            _ = float(score[0, 0])
    return notes


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def percentile(values, q):
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def matmul_gflops(n=1024, runs=10):
    """Achieved GFLOP/s of an n^3 fp32 matmul: the practical peak of this PyTorch build."""
    a, b = torch.ones(n, n), torch.ones(n, n)
    ms = timed(lambda: torch.mm(a, b), runs, 2)
    return 2.0 * n ** 3 / (percentile(ms, 0.5) * 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--gen-runs", type=int, default=30)
    ap.add_argument("--train-runs", type=int, default=10)
    ap.add_argument("--critic-updates", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    for path in args.configs:
        with open(path) as f:
            config = json.load(f)
        config["critic_updates"] = args.critic_updates
        shapes = Shapes(config)
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        c, cb, cc, z = (config.get("channels", 64), config.get("beat_channels", 96),
                        config.get("critic_channels", 48), config.get("latent", 32))
        gen_net = Generator(shapes.p, shapes.side, c, cb, z)
        critic = Critic(shapes.p, shapes.side, cc)
        gen_ms = timed(lambda: generate(config, shapes, gen_net, critic, args.bars, gen),
                       args.gen_runs, 3)
        opt_g = torch.optim.Adam(gen_net.parameters(), lr=2e-4, betas=(0.5, 0.9))
        opt_d = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.5, 0.9))
        train_ms = timed(lambda: train_step(config, shapes, gen_net, critic, opt_g, opt_d,
                                            args.batch, gen), args.train_runs, 2)
        result = {
            "config": path,
            "name": config.get("name", os.path.basename(path)),
            "torch": torch.__version__,
            "threads": args.threads,
            "batch": args.batch,
            "bars": args.bars,
            "tracks": shapes.roles,
            "generate_ms": {"p50": percentile(gen_ms, 0.5), "p90": percentile(gen_ms, 0.9),
                            "runs": len(gen_ms)},
            "train_step_ms": {"p50": percentile(train_ms, 0.5),
                              "p90": percentile(train_ms, 0.9), "runs": len(train_ms)},
            "generate_samples_ms": gen_ms,
            "train_samples_ms": train_ms,
            "matmul_gflops": matmul_gflops(),
        }
        print(json.dumps(result), flush=True)
        print(f"torch {result['name']:>10}: generate p50 {result['generate_ms']['p50']:.1f} ms "
              f"p90 {result['generate_ms']['p90']:.1f} | train step p50 "
              f"{result['train_step_ms']['p50']:.0f} ms p90 {result['train_step_ms']['p90']:.0f}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
