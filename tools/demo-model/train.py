"""Trains the demo GPT-2 on the tokenized corpus (tokenize.mjs) and writes a checkpoint for
build.py, plus a JSON log of the loss curve.

    /usr/bin/python3 tools/demo-model/train.py --tokens tools/demo-model/build/tokens.bin \
        --out tools/demo-model/build/demo-gpt2.pt

Budget: one CPU thread (the machine is shared). The corpus uses ~1,200 of GPT-2's 50,257
token ids. The output softmax is computed over those ids plus ONE extra class standing for
all the others: they share a single learned embedding row `u`, so their logits are equal
and the extra class's logit is h.u + log(number of unused ids). That is exactly the
full-vocabulary softmax of a model whose unused rows all equal `u`, at ~1/40 of the cost;
the checkpoint writes `u` into every unused row of the (tied) embedding, so the exported
model gives ids outside the corpus the low probability it learned for them.
"""
import os

# One BLAS thread: set before torch loads OpenBLAS.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2 import PRESETS, GPT2LMHeadModel, count_parameters  # noqa: E402

EOT = 50256


def load_documents(path):
    ids = np.fromfile(path, dtype='<u2').astype(np.int64)
    ends = np.flatnonzero(ids == EOT)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [ids[s:e + 1] for s, e in zip(starts, ends)]


def make_blocks(docs, block, rng):
    """Packs shuffled documents into blocks of `block` + 1 tokens, every block starting at a
    document start (so position 0 is always the start of a prompt, as at run time)."""
    order = list(range(len(docs)))
    rng.shuffle(order)
    blocks, current = [], []
    for i in order:
        current.extend(docs[i].tolist())
        if len(current) >= block + 1:
            blocks.append(current[:block + 1])
            current = []
    return torch.tensor(blocks, dtype=torch.long)


def hidden_states(model, x):
    """The transformer without its head: forward() returns full-vocabulary logits."""
    tr = model.transformer
    b, t = x.shape
    pos = torch.arange(t).unsqueeze(0)
    h = tr.wte(x) + tr.wpe(pos)
    mask_bias = torch.triu(torch.full((t, t), -1e9), diagonal=1).view(1, 1, t, t)
    for blk in tr.h:
        h, _, _ = blk(h, mask_bias, None, None)
    return tr.ln_f(h)


class CorpusVocabulary:
    """The ids the corpus uses, and the shared row standing for every other id.

    Training estimates the softmax's normaliser (sampled softmax): exactly over the `frequent`
    ids (97 % of the corpus's tokens) and the ids the batch predicts, plus `negatives` ids drawn
    uniformly from the remaining corpus ids, each standing for (remaining / negatives) ids, plus
    the shared row. The corpus's shop and person names reach 16,000 ids, so the full softmax
    would cost three times the rest of the model; validation uses the exact one."""

    def __init__(self, corpus_ids, counts, vocab_size, n_embd, frequent=2000, negatives=1500):
        self.ids = corpus_ids
        self.remap = torch.full((vocab_size,), -100, dtype=torch.long)
        self.remap[corpus_ids] = torch.arange(len(corpus_ids))
        self.log_unused = math.log(vocab_size - len(corpus_ids))
        self.unused_row = torch.nn.Parameter(torch.randn(n_embd) * 0.02)
        by_count = corpus_ids[torch.argsort(counts[corpus_ids], descending=True)]
        self.frequent = by_count[:frequent]
        self.rare = by_count[frequent:]
        self.negatives = min(negatives, len(self.rare))

    def logits(self, model, h):
        used = h @ model.transformer.wte.weight[self.ids].t()
        unused = (h @ self.unused_row + self.log_unused).unsqueeze(-1)
        return torch.cat([used, unused], dim=-1)

    def sampled_loss(self, model, h, y):
        wte = model.transformer.wte.weight
        h = h.reshape(-1, h.shape[-1])
        y = y.reshape(-1)
        exact = torch.unique(torch.cat([self.frequent, y]))
        in_exact = torch.zeros(wte.shape[0], dtype=torch.bool)
        in_exact[exact] = True
        rest = self.rare[~in_exact[self.rare]]
        drawn = rest[torch.randperm(len(rest))[:self.negatives]]
        lse = torch.logsumexp(h @ wte[exact].t(), dim=-1)
        if len(drawn):
            sampled = torch.logsumexp(h @ wte[drawn].t(), dim=-1) + math.log(len(rest) / len(drawn))
            lse = torch.logaddexp(lse, sampled)
        lse = torch.logaddexp(lse, h @ self.unused_row + self.log_unused)
        target = (h * wte[y]).sum(-1)
        return (lse - target).mean()

    @torch.no_grad()
    def write_unused_rows(self, model):
        keep = torch.zeros(model.config.vocab_size, dtype=torch.bool)
        keep[self.ids] = True
        model.transformer.wte.weight[~keep] = self.unused_row


def loss_on(model, vocab, batch):
    x, y = batch[:, :-1], batch[:, 1:]
    return vocab.sampled_loss(model, hidden_states(model, x), y)


@torch.no_grad()
def evaluate(model, vocab, blocks, batch_size):
    """Validation loss (equal to the full-vocabulary loss of the exported model), and the
    probability mass the model puts on ids the corpus never uses."""
    model.eval()
    total, unused_mass, n = 0.0, 0.0, 0
    for i in range(0, len(blocks), batch_size):
        batch = blocks[i:i + batch_size]
        y = batch[:, 1:]
        logp = F.log_softmax(vocab.logits(model, hidden_states(model, batch[:, :-1])), dim=-1)
        total += F.nll_loss(logp.reshape(-1, logp.shape[-1]), vocab.remap[y].reshape(-1), reduction='sum').item()
        unused_mass += logp[..., -1].exp().sum().item()
        n += y.numel()
    model.train()
    return total / n, unused_mass / n


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tokens', required=True)
    p.add_argument('--out', required=True, help='checkpoint (.pt); the loss log goes beside it (.json)')
    p.add_argument('--preset', default='demo', choices=sorted(PRESETS))
    p.add_argument('--block', type=int, default=256)
    p.add_argument('--long-block-every', type=int, default=4,
                   help='every Nth step uses blocks of n_positions tokens, to train every position')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--steps', type=int, default=1400)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--warmup', type=int, default=100)
    p.add_argument('--weight-decay', type=float, default=0.01)
    p.add_argument('--eval-every', type=int, default=100)
    p.add_argument('--val-share', type=float, default=0.05)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--init-from', help='checkpoint to continue from (a fine-tuning run on a changed corpus)')
    p.add_argument('--time-limit-minutes', type=float, default=60)
    args = p.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    docs = load_documents(args.tokens)
    rng.shuffle(docs)
    n_val = int(len(docs) * args.val_share)
    val_docs, train_docs = docs[:n_val], docs[n_val:]
    cfg = PRESETS[args.preset]
    val_blocks = make_blocks(val_docs, args.block, random.Random(0))

    all_ids = np.concatenate(docs)
    counts = torch.from_numpy(np.bincount(all_ids, minlength=cfg.vocab_size))
    corpus_ids = torch.nonzero(counts).flatten()
    log = {'args': vars(args), 'config': cfg.to_dict(), 'distinct_ids': len(corpus_ids), 'train': [], 'val': []}

    model = GPT2LMHeadModel(cfg)
    vocab = CorpusVocabulary(corpus_ids, counts, cfg.vocab_size, cfg.n_embd)
    if args.init_from:
        previous = torch.load(args.init_from, map_location='cpu')
        model.load_state_dict(previous['state_dict'])
        # Unused rows all hold the previous run's shared row; ids the new corpus adds start from it too.
        unused = sorted(set(range(cfg.vocab_size)) - set(corpus_ids.tolist()))[0]
        vocab.unused_row.data.copy_(model.transformer.wte.weight.data[unused])
        log['init_from'] = {'checkpoint': os.path.basename(args.init_from), **previous.get('metadata', {})}
    decay = [p_ for n, p_ in model.named_parameters() if p_.dim() >= 2]
    no_decay = [p_ for n, p_ in model.named_parameters() if p_.dim() < 2] + [vocab.unused_row]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr, betas=(0.9, 0.95))
    print(f'{count_parameters(model) / 1e6:.2f} M parameters; {len(train_docs)} training documents, '
          f'{sum(len(d) for d in train_docs)} tokens; {len(corpus_ids)} distinct ids; '
          f'{len(val_blocks)} validation blocks', flush=True)

    def lr_at(step, elapsed):
        """Warm-up, then cosine decay to 10% over the steps or the time budget, whichever
        runs out first (the machine is shared, so a step's duration is not known ahead)."""
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = min(1.0, max((step - args.warmup) / max(1, args.steps - args.warmup),
                                elapsed / (args.time_limit_minutes * 60)))
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    pools = {}
    started = time.time()
    step = -1
    while step + 1 < args.steps:
        step += 1
        block = cfg.n_positions if args.long_block_every and step % args.long_block_every == 0 else args.block
        batch_size = max(1, args.batch * args.block // block)
        pool = pools.get(block)
        if pool is None or len(pool) < batch_size:
            pool = pools[block] = make_blocks(train_docs, block, rng)
        batch, pools[block] = pool[:batch_size], pool[batch_size:]
        lr = lr_at(step, time.time() - started)
        for group in opt.param_groups:
            group['lr'] = lr
        loss = loss_on(model, vocab, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.time() - started
        if step % 25 == 0:
            log['train'].append({'step': step, 'loss': round(loss.item(), 4), 'minutes': round(elapsed / 60, 2)})
            print(f'step {step} loss {loss.item():.3f} lr {lr:.2e} {elapsed / 60:.1f} min', flush=True)
        if step % args.eval_every == 0:
            val_loss, unseen = evaluate(model, vocab, val_blocks, args.batch)
            log['val'].append({'step': step, 'loss': round(val_loss, 4), 'unseen_mass': round(unseen, 5),
                               'minutes': round(elapsed / 60, 2)})
            print(f'  validation loss {val_loss:.3f} (perplexity {math.exp(val_loss):.2f}), '
                  f'mass on ids outside the corpus {unseen:.4f}', flush=True)
        if elapsed > args.time_limit_minutes * 60:
            print('time budget used: stopping', flush=True)
            break
    val_loss, unseen = evaluate(model, vocab, val_blocks, args.batch)
    log['final'] = {'step': step, 'val_loss': round(val_loss, 4), 'unseen_mass': round(unseen, 5),
                    'minutes': round((time.time() - started) / 60, 2)}
    print(json.dumps(log['final']))
    vocab.write_unused_rows(model)
    earlier = log.get('init_from', {})
    metadata = {'corpus_documents': len(docs), 'corpus_tokens': int(sum(len(d) for d in docs)),
                'steps': earlier.get('steps', 0) + step + 1, 'runs': earlier.get('runs', 1) + (1 if earlier else 0),
                'validation_loss': round(val_loss, 4)}
    torch.save({'config': cfg.to_dict(), 'state_dict': model.state_dict(), 'metadata': metadata}, args.out)
    with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(log, f, indent=1)


if __name__ == '__main__':
    main()
