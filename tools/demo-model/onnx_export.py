"""ONNX export of gpt2.GPT2LMHeadModel in transformers.js's decoder layout, the tied
embedding shared in the graph, and int8 dynamic quantization with the `onnx` package alone.

Graph contract (what transformers.js 2.17 feeds and reads):
  inputs   input_ids int64 [batch, seq], attention_mask int64 [batch, past + seq],
           position_ids int64 [batch, seq],
           past_key_values.{i}.key|value float32 [batch, n_head, past, head_dim] (past may be 0)
  outputs  logits float32 [batch, seq, vocab], present.{i}.key|value [batch, n_head, past + seq, head_dim]
"""
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 14


class _FlatPast(torch.nn.Module):
    """torch.onnx.export wants flat tensors, not a list of pairs."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def io_names(n_layer):
    past = [f'past_key_values.{i}.{kv}' for i in range(n_layer) for kv in ('key', 'value')]
    present = [f'present.{i}.{kv}' for i in range(n_layer) for kv in ('key', 'value')]
    return ['input_ids', 'attention_mask', 'position_ids'] + past, ['logits'] + present


def export_fp32(model, path):
    cfg = model.config
    model.eval()
    batch, seq, past_len = 2, 3, 4
    head_dim = cfg.n_embd // cfg.n_head
    input_ids = torch.randint(0, cfg.vocab_size, (batch, seq))
    attention_mask = torch.ones(batch, past_len + seq, dtype=torch.long)
    position_ids = torch.arange(past_len, past_len + seq).unsqueeze(0).expand(batch, seq).contiguous()
    flat_past = [torch.zeros(batch, cfg.n_head, past_len, head_dim) for _ in range(2 * cfg.n_layer)]
    inputs, outputs = io_names(cfg.n_layer)
    axes = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
            'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
            'position_ids': {0: 'batch_size', 1: 'sequence_length'},
            'logits': {0: 'batch_size', 1: 'sequence_length'}}
    for name in inputs[3:]:
        axes[name] = {0: 'batch_size', 2: 'past_sequence_length'}
    for name in outputs[1:]:
        axes[name] = {0: 'batch_size', 2: 'total_sequence_length'}
    with torch.no_grad():
        torch.onnx.export(_FlatPast(model), (input_ids, attention_mask, position_ids, *flat_past), path,
                          input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True)
    graph = onnx.load(path)
    share_tied_embedding(graph)
    onnx.checker.check_model(graph)
    onnx.save(graph, path)
    return graph


def _initializers(graph):
    return {t.name: t for t in graph.graph.initializer}


def _producer(graph, output_name):
    for node in graph.graph.node:
        if output_name in node.output:
            return node
    raise KeyError(output_name)


def _lm_head(graph):
    """The MatMul that writes `logits`; its weight is the embedding, transposed by export's
    constant folding into a second copy."""
    node = _producer(graph, 'logits')
    if node.op_type != 'MatMul':
        raise ValueError(f'logits come from {node.op_type}, expected MatMul')
    return node


def _embedding_name(graph):
    """The initializer that the Gather over input_ids reads: the token embedding."""
    for node in graph.graph.node:
        if node.op_type == 'Gather' and node.input[1] == 'input_ids':
            return node.input[0]
    raise ValueError('no Gather over input_ids')


def share_tied_embedding(graph):
    """Replace the lm_head's copy of the embedding by Transpose(wte): one copy on disk
    (onnxruntime folds the Transpose into a constant once, at session creation)."""
    inits = _initializers(graph)
    wte_name = _embedding_name(graph)
    head = _lm_head(graph)
    weight_name = head.input[1]
    if weight_name == wte_name or weight_name not in inits:
        return
    wte = numpy_helper.to_array(inits[wte_name])
    copy = numpy_helper.to_array(inits[weight_name])
    if not np.array_equal(copy, wte.T):
        raise ValueError('lm_head weight is not the transposed embedding')
    transposed = 'lm_head.weight_transposed'
    graph.graph.initializer.remove(inits[weight_name])
    idx = list(graph.graph.node).index(head)
    graph.graph.node.insert(idx, helper.make_node('Transpose', [wte_name], [transposed], perm=[1, 0],
                                                  name='lm_head/TransposeTiedEmbedding'))
    head.input[1] = transposed


# ---------------------------------------------------------------------------------------------
# int8 dynamic quantization, the structure onnxruntime's quantize_dynamic writes for MatMul:
#   x -> DynamicQuantizeLinear -> (x_q uint8, x_scale, x_zero_point)
#   MatMulInteger(x_q, W_q int8, x_zero_point) -> Cast(float) -> Mul(x_scale * W_scale)
# Weights: symmetric, per output column, 7-bit ([-63, 63], onnxruntime's reduce_range): on
# AVX2 without VNNI the u8 x s8 kernel sums pairs of products in int16 (VPMADDUBSW), and
# 255 * 63 * 2 stays below 32767 where 255 * 127 * 2 would saturate.
# The tied embedding is quantized once, per row: the Gather reads int8 rows and their scales,
# the lm_head multiplies by its transpose (rows of wte are the columns of the lm_head).
QMAX = 63


def quantize_symmetric(w, axis):
    """int8 values and float scales, one scale per index along `axis` of a 2-D weight."""
    reduce_axis = 1 - axis
    amax = np.abs(w).max(axis=reduce_axis)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / np.expand_dims(scale, reduce_axis)), -QMAX, QMAX).astype(np.int8)
    return q, scale


class _Builder:
    def __init__(self, graph):
        self.graph = graph
        self.quantized_inputs = {}
        self.new_inits = []

    def init(self, name, array):
        self.new_inits.append(numpy_helper.from_array(array, name))
        return name

    def dynamic_quantize(self, x, nodes):
        """One DynamicQuantizeLinear per activation, however many MatMuls read it."""
        if x not in self.quantized_inputs:
            base = x.replace('/', '_').strip('_')
            outs = [f'{base}_quantized', f'{base}_scale', f'{base}_zero_point']
            nodes.append(helper.make_node('DynamicQuantizeLinear', [x], outs, name=f'{base}_DynamicQuantizeLinear'))
            self.quantized_inputs[x] = outs
        return self.quantized_inputs[x]

    def integer_matmul(self, x, w_q, w_scale_name, y, prefix, nodes):
        xq, xs, xz = self.dynamic_quantize(x, nodes)
        nodes += [
            helper.make_node('MatMulInteger', [xq, w_q, xz], [f'{prefix}_int32'], name=f'{prefix}_MatMulInteger'),
            helper.make_node('Cast', [f'{prefix}_int32'], [f'{prefix}_float'], to=TensorProto.FLOAT, name=f'{prefix}_Cast'),
            helper.make_node('Mul', [xs, w_scale_name], [f'{prefix}_scale'], name=f'{prefix}_ScaleMul'),
            helper.make_node('Mul', [f'{prefix}_float', f'{prefix}_scale'], [y], name=f'{prefix}_OutputMul'),
        ]


def quantize_int8(graph):
    """Returns a new ModelProto with every weight MatMul and the embedding in int8."""
    model = onnx.ModelProto()
    model.CopyFrom(graph)
    g = model.graph
    inits = _initializers(model)
    b = _Builder(model)
    head = _lm_head(model)
    wte_name = _embedding_name(model)

    wte = numpy_helper.to_array(inits[wte_name])
    wte_q, wte_scale = quantize_symmetric(wte, axis=0)
    b.init('wte_quantized', wte_q)
    b.init('wte_scale', wte_scale)
    b.init('unsqueeze_last_axis', np.array([-1], dtype=np.int64))

    used = set()
    new_nodes = []
    for node in g.node:
        if node.op_type == 'Gather' and node.input[0] == wte_name:
            ids = node.input[1]
            new_nodes += [
                helper.make_node('Gather', ['wte_quantized', ids], ['wte_rows_int8'], name='wte/GatherQuantized'),
                helper.make_node('Cast', ['wte_rows_int8'], ['wte_rows_float'], to=TensorProto.FLOAT, name='wte/Cast'),
                helper.make_node('Gather', ['wte_scale', ids], ['wte_row_scales'], name='wte/GatherScale'),
                helper.make_node('Unsqueeze', ['wte_row_scales', 'unsqueeze_last_axis'], ['wte_row_scales_column'], name='wte/Unsqueeze'),
                helper.make_node('Mul', ['wte_rows_float', 'wte_row_scales_column'], [node.output[0]], name='wte/Dequantize'),
            ]
        elif node.op_type == 'Transpose' and node.input[0] == wte_name:
            new_nodes.append(helper.make_node('Transpose', ['wte_quantized'], ['wte_quantized_transposed'], perm=[1, 0],
                                              name='lm_head/TransposeQuantizedEmbedding'))
        elif node is head:
            b.integer_matmul(node.input[0], 'wte_quantized_transposed', 'wte_scale', node.output[0], 'lm_head', new_nodes)
        elif node.op_type == 'MatMul' and node.input[1] in inits and len(inits[node.input[1]].dims) == 2:
            w = numpy_helper.to_array(inits[node.input[1]])
            w_q, w_scale = quantize_symmetric(w, axis=1)
            base = node.input[1].replace('/', '_').replace(':', '_')
            b.init(f'{base}_quantized', w_q)
            b.init(f'{base}_scale', w_scale)
            used.add(node.input[1])
            b.integer_matmul(node.input[0], f'{base}_quantized', f'{base}_scale', node.output[0],
                             node.name.replace('/', '_').strip('_') or base, new_nodes)
        else:
            new_nodes.append(node)
    used.add(wte_name)

    del g.node[:]
    g.node.extend(new_nodes)
    keep = [t for t in g.initializer if t.name not in used]
    del g.initializer[:]
    g.initializer.extend(keep + b.new_inits)
    # Any stale value_info from export would describe tensors that no longer exist.
    del g.value_info[:]
    onnx.checker.check_model(model)
    return model
