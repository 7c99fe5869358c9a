"""A plain PyTorch GPT-2 (the Hugging Face architecture, written out) whose forward
signature matches the ONNX decoder transformers.js 2.17 expects:

    forward(input_ids, attention_mask, position_ids, past_key_values)
        -> logits, presents   (presents[i] = (key, value), each [batch, n_head, seq, head_dim])

Weights are named like Hugging Face's GPT2LMHeadModel (`transformer.h.0.attn.c_attn.weight`,
Conv1D layout [in, out]) so a state dict can be compared with or moved to `transformers`."""
import math
from dataclasses import dataclass, asdict

import torch
from torch import nn


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 512
    n_embd: int = 128
    n_layer: int = 6
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    bos_token_id: int = 50256
    eos_token_id: int = 50256

    def to_dict(self):
        return asdict(self)


PRESETS = {
    # The shipped demo model: the tied 50257 x 128 embedding is most of its size.
    'demo': GPT2Config(n_positions=512, n_embd=128, n_layer=6, n_head=4),
    # GPT-2 small's shape, for the benchmark.
    'gpt2-small': GPT2Config(n_positions=1024, n_embd=768, n_layer=12, n_head=12),
}


class Conv1D(nn.Module):
    """Hugging Face's GPT-2 linear layer: weight stored [in, out], y = x @ W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias


def gelu_new(x):
    # GPT-2's tanh approximation, written out so the ONNX export is the same on every opset.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.n_embd = cfg.n_embd
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)

    def split_heads(self, x):
        b, t = x.shape[0], x.shape[1]
        return x.view(b, t, self.n_head, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias, past_key, past_value):
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)
            v = torch.cat([past_value, v], dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        probs = torch.softmax(scores + mask_bias, dim=-1)
        y = torch.matmul(probs, v).transpose(1, 2)
        y = y.reshape(y.shape[0], y.shape[1], self.n_embd)
        return self.c_proj(y), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, mask_bias, past_key, past_value):
        a, k, v = self.attn(self.ln_1(x), mask_bias, past_key, past_value)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, k, v


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.config = cfg
        self.transformer = Transformer(cfg)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections.
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                nn.init.normal_(p, mean=0.0, std=cfg.initializer_range / math.sqrt(2 * cfg.n_layer))

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, (Conv1D,)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        """past_key_values: list of (key, value) per layer, or None. attention_mask covers
        past + current tokens ([batch, past + seq]); 0 marks padding."""
        b, t = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + t, dtype=torch.long)
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t, dtype=torch.long).unsqueeze(0).expand(b, t)
        tr = self.transformer
        x = tr.wte(input_ids) + tr.wpe(position_ids)

        # Additive mask [b, 1, t, past + t]: causal (key j visible to query i iff j <= past + i)
        # and padding (attention_mask 0 hides a key). -1e9 rather than -inf so that a fully
        # masked row (a left-padding query) stays finite.
        total = attention_mask.shape[1]
        key_pos = torch.arange(total, dtype=torch.long).view(1, total)
        query_pos = (torch.arange(t, dtype=torch.long) + (total - t)).view(t, 1)
        causal = key_pos <= query_pos
        keep = causal.view(1, 1, t, total) & (attention_mask.view(b, 1, 1, total) > 0)
        mask_bias = (1.0 - keep.to(x.dtype)) * -1e9

        presents = []
        for i, block in enumerate(tr.h):
            pk, pv = past_key_values[i] if past_key_values is not None else (None, None)
            x, k, v = block(x, mask_bias, pk, pv)
            presents.append((k, v))
        x = tr.ln_f(x)
        logits = torch.matmul(x, tr.wte.weight.t())  # tied embedding
        return logits, presents


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
