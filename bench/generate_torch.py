"""PyTorch reference for bench/generate: the same weights as the ONNX benchmark model
(written by `npm run bench:model`), 64 new tokens from a 16-token prompt, KV cache, no_grad,
2 threads, greedy and sampled (top_k 50, top_p 0.95, temperature 1), fp32.

    /usr/bin/python3 bench/generate_torch.py [bench/.models/gpt2-small-random] [--json]

Prints tokens/s, time to first token and which BLAS torch runs on. End-of-text is ignored so
every run produces exactly --new-tokens tokens (random weights would stop anywhere).
"""
import os

THREADS = 2
# Before torch loads: OpenBLAS (when libblas.so.3 points to it) sizes its pool from these.
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(THREADS))
os.environ.setdefault('OMP_NUM_THREADS', str(THREADS))

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'demo-model'))
from gpt2 import GPT2Config, GPT2LMHeadModel  # noqa: E402

# gpt-3-encoder's encoding of 'Write a short welcome email for Anna, a new customer in Berlin who loves coffee'
PROMPT = [16594, 257, 1790, 7062, 3053, 329, 11735, 11, 257, 649, 6491, 287, 11307, 508, 10408, 6891]


def blas_in_use():
    """torch's own build says BLAS_INFO=generic on Debian: the library actually loaded is
    whatever libblas.so.3 resolves to, so read it from the process's memory map."""
    libs = set()
    with open('/proc/self/maps') as maps:
        for line in maps:
            path = line.split()[-1]
            if re.search(r'lib(open)?blas|libmkl|libblis|libatlas', path):
                libs.add(os.path.realpath(path))
    build = re.search(r'BLAS_INFO=([^,\s]+)', torch.__config__.show())
    return {'torch_build_blas_info': build.group(1) if build else None, 'loaded_blas': sorted(libs)}


def filter_top_k_top_p(logits, top_k, top_p):
    """Hugging Face's order: top-k, then top-p on what is left (keeps at least one token)."""
    values, indices = torch.topk(logits, top_k)
    probs = torch.softmax(values, dim=-1)
    cumulative = probs.cumsum(-1)
    keep = cumulative - probs < top_p
    keep[..., 0] = True
    return values.masked_fill(~keep, float('-inf')), indices


@torch.no_grad()
def generate(model, prompt, new_tokens, sample, top_k=50, top_p=0.95, temperature=1.0, generator=None):
    ids = torch.tensor([prompt])
    started = time.perf_counter()
    logits, past = model(ids)
    out, first_token_at = [], None
    position = len(prompt)
    for _ in range(new_tokens):
        last = logits[0, -1] / temperature
        if sample:
            values, indices = filter_top_k_top_p(last, top_k, top_p)
            choice = torch.multinomial(torch.softmax(values, dim=-1), 1, generator=generator)
            token = int(indices[choice])
        else:
            token = int(torch.argmax(last))
        out.append(token)
        if first_token_at is None:
            first_token_at = time.perf_counter() - started
        if len(out) == new_tokens:
            break
        logits, past = model(torch.tensor([[token]]), position_ids=torch.tensor([[position]]), past_key_values=past)
        position += 1
    return out, time.perf_counter() - started, first_token_at


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', nargs='?', default=os.path.join(ROOT, 'bench', '.models', 'gpt2-small-random'))
    p.add_argument('--new-tokens', type=int, default=64)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--json', action='store_true', help='print one JSON object (for bench/generate)')
    args = p.parse_args()
    torch.set_num_threads(THREADS)

    t0 = time.perf_counter()
    ckpt = torch.load(os.path.join(args.model, 'pytorch_model.pt'), map_location='cpu')
    model = GPT2LMHeadModel(GPT2Config(**ckpt['config']))
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    load_s = time.perf_counter() - t0

    generate(model, PROMPT, 4, sample=False)  # warm-up
    results = {'model': args.model, 'threads': torch.get_num_threads(), 'torch': torch.__version__,
               'dtype': 'float32', 'prompt_tokens': len(PROMPT), 'new_tokens': args.new_tokens,
               'load_seconds': round(load_s, 2), **blas_in_use()}
    for mode in ('greedy', 'sampled'):
        best = None
        for run in range(args.runs):
            g = torch.Generator().manual_seed(run)
            tokens, seconds, ttft = generate(model, PROMPT, args.new_tokens, sample=mode == 'sampled', generator=g)
            if best is None or seconds < best[0]:
                best = (seconds, ttft, len(tokens))
        seconds, ttft, n = best
        results[mode] = {'tokens_per_second': round(n / seconds, 2), 'seconds': round(seconds, 3),
                         'time_to_first_token_ms': round(ttft * 1000, 1), 'runs': args.runs, 'best_of_runs': True}
    if args.json:
        print(json.dumps(results))
        return
    print(f"PyTorch {results['torch']} fp32, {results['threads']} threads, BLAS: build says "
          f"{results['torch_build_blas_info']}, loaded {', '.join(results['loaded_blas']) or 'none found'}")
    print(f"model {args.model} (loaded in {results['load_seconds']} s), prompt {len(PROMPT)} tokens, "
          f"{args.new_tokens} new tokens, best of {args.runs} runs")
    for mode in ('greedy', 'sampled'):
        r = results[mode]
        print(f"  {mode:8s} {r['tokens_per_second']:7.2f} tokens/s  ({r['seconds']} s, first token after "
              f"{r['time_to_first_token_ms']} ms)")


if __name__ == '__main__':
    main()
