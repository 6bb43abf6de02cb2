"""PyTorch anchor for benchmarks/scripts/train-step.ts: the same training step in PyTorch 2 + transformers + peft.

The step: a Qwen2-shaped model in fp32 (SDPA attention, made bidirectional), LoRA r 16 / alpha 32 / dropout 0.05 on
all seven projections, 4 queries + 4 documents of TOKENS tokens, mean pooling, in-batch contrastive loss (scale 50),
AdamW, one forward and backward over the whole batch. With --checkpointing, transformers' gradient checkpointing
recomputes each layer's forward in the backward, as llm2vec's supervised configs train ("gradient_checkpointing":
true): one extra forward, like dembed's GradCache pass, and far less memory. Without it, PyTorch does one forward fewer
than dembed's step and holds every activation at once. Token ids are random: the cost does not depend on them.

    python benchmarks/scripts/anchors/train_step.py --model-dir DIR [--tokens 256] [--steps 4] [--threads N] [--checkpointing]

Prints one line per step and, last, `RESULT {"step_seconds": …, "peak_rss_gib": …}` for the TypeScript script.
"""
import argparse
import json
import os
import resource
import time

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModel

parser = argparse.ArgumentParser()
parser.add_argument("--model-dir", required=True)
parser.add_argument("--tokens", type=int, default=256)
parser.add_argument("--steps", type=int, default=4)
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--checkpointing", action="store_true")
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(1)
model = AutoModel.from_pretrained(args.model_dir, dtype=torch.float32, attn_implementation="sdpa")
for layer in model.layers:
    layer.self_attn.is_causal = False  # bidirectional, as dembed trains; the 4-D mask below says so too
if args.checkpointing:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
model = get_peft_model(
    model,
    LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
)
model.train()
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
vocab = model.config.vocab_size
batch = 8
mask = torch.ones(batch, 1, args.tokens, args.tokens, dtype=torch.bool)

times = []
for step in range(1, args.steps + 1):
    ids = torch.randint(0, vocab, (batch, args.tokens))
    started = time.perf_counter()
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = F.normalize(hidden.mean(dim=1), dim=-1)
    queries, docs = pooled[: batch // 2], pooled[batch // 2 :]
    loss = F.cross_entropy(50 * queries @ docs.T, torch.arange(batch // 2))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"  pytorch step {step}: {times[-1]:.2f} s, loss {loss.item():.4f}, peak RSS so far {peak:.2f} GiB", flush=True)

steady = times[1:] if len(times) > 1 else times  # the first step also warms up the allocator and kernels
print("RESULT " + json.dumps({
    "step_seconds": sum(steady) / len(steady),
    "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
}), flush=True)
