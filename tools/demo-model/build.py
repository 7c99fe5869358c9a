"""Builds a GPT-2 model folder in the layout transformers.js 2.17 loads:

  <out>/config.json, generation_config.json, tokenizer.json, tokenizer_config.json
  <out>/onnx/decoder_model_merged_quantized.onnx    (int8, always)
  <out>/onnx/decoder_model_merged.onnx              (fp32, with --fp32)

Weights come from a training checkpoint (--checkpoint, written by train.py) or are random
(--random, with a --preset architecture). --save-torch also writes the PyTorch weights
(pytorch_model.pt: {'config': ..., 'state_dict': ...}) for bench/generate_torch.py.

Run with Debian's interpreter: /usr/bin/python3 tools/demo-model/build.py --help
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from gpt2 import PRESETS, GPT2Config, GPT2LMHeadModel, count_parameters  # noqa: E402
from hf_layout import write_hf_files  # noqa: E402
from onnx_export import export_fp32, quantize_int8  # noqa: E402
import onnx  # noqa: E402


def load_model(args):
    if args.checkpoint:
        ckpt = torch.load(args.checkpoint, map_location='cpu')
        cfg = GPT2Config(**ckpt['config'])
        model = GPT2LMHeadModel(cfg)
        model.load_state_dict(ckpt['state_dict'])
        return model, ckpt.get('metadata', {})
    torch.manual_seed(args.seed)
    return GPT2LMHeadModel(PRESETS[args.preset]), {'weights': f'random (seed {args.seed})'}


def write_reference(model, path):
    """Logits of the PyTorch model for a fixed prompt, in two steps (prompt, then one token
    with the key/value cache), so verify.mjs can check the ONNX graphs against them."""
    # 'Write a short welcome email for Anna, a new customer in Berlin:' then '\n'
    prompt = [16594, 257, 1790, 7062, 3053, 329, 11735, 11, 257, 649, 6491, 287, 11307, 25]
    step = [198]
    with torch.no_grad():
        logits, past = model(torch.tensor([prompt]))
        step_logits, _ = model(torch.tensor([step]), past_key_values=past)
    with open(path, 'w') as f:
        json.dump({'prompt': prompt, 'step': step,
                   'prompt_last_logits': logits[0, -1].tolist(),
                   'step_logits': step_logits[0, -1].tolist()}, f)


def size_mb(path):
    return os.path.getsize(path) / 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='checkpoint written by train.py')
    src.add_argument('--random', action='store_true', help='untrained model of --preset')
    p.add_argument('--preset', choices=sorted(PRESETS), default='demo')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True, help='model folder to (re)write')
    p.add_argument('--fp32', action='store_true', help='also write onnx/decoder_model_merged.onnx')
    p.add_argument('--save-torch', action='store_true', help='also write pytorch_model.pt')
    p.add_argument('--reference', help='write PyTorch logits for a fixed input here (JSON), for verify.mjs')
    args = p.parse_args()

    model, metadata = load_model(args)
    model.eval()
    cfg = model.config
    print(f'GPT-2 {cfg.n_layer} layers x {cfg.n_embd} wide, {cfg.n_head} heads, '
          f'{cfg.n_positions} positions: {count_parameters(model) / 1e6:.2f} M parameters')

    os.makedirs(os.path.join(args.out, 'onnx'), exist_ok=True)
    write_hf_files(args.out, cfg, extra_config={'demo_model': metadata} if metadata else None)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = os.path.join(tmp, 'decoder_model_merged.onnx')
        graph = export_fp32(model, fp32_path)
        int8_path = os.path.join(args.out, 'onnx', 'decoder_model_merged_quantized.onnx')
        onnx.save(quantize_int8(graph), int8_path)
        print(f'fp32 {size_mb(fp32_path):.2f} MB -> int8 {size_mb(int8_path):.2f} MB')
        fp32_out = os.path.join(args.out, 'onnx', 'decoder_model_merged.onnx')
        if args.fp32:
            shutil.copyfile(fp32_path, fp32_out)
        elif os.path.exists(fp32_out):
            os.remove(fp32_out)
    if args.reference:
        write_reference(model, args.reference)
    if args.save_torch:
        torch.save({'config': cfg.to_dict(), 'state_dict': model.state_dict()},
                   os.path.join(args.out, 'pytorch_model.pt'))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f'{args.out}: {total / 1e6:.2f} MB')
    print(json.dumps({f: round(size_mb(os.path.join(d, f)), 3) for d, _, fs in os.walk(args.out) for f in fs}))


if __name__ == '__main__':
    main()
