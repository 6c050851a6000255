"""all-MiniLM-L6-v2 as an ONNX graph, written from its safetensors weights with numpy and onnx (no torch).

The graph is the BERT encoder of the model (embeddings, 6 layers, no pooler) with two inputs,
`input_ids` and `attention_mask` (int64, [batch, tokens]), and one output, `token_embeddings`
([batch, tokens, 384]); mean pooling and L2 normalisation follow in numpy (index/onnx_embed.py), as
sentence-transformers' Pooling and Normalize modules do. Token type ids are always 0 for one text, so
type embedding 0 is folded in as a constant. The same weights give the same function: the test suite
checks the vectors against sentence-transformers' (cosine >= 0.9999).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
EXPORT_VERSION = 1
"""Bump when the graph changes: cached exports with another version are rebuilt."""
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"


def _bert_config(model_dir: Path) -> dict[str, Any]:
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ValueError(f"{model_dir} is not a BERT model with GELU activations")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{model_dir} uses {config['position_embedding_type']} positions; only absolute are exported")
    return config


def build_graph(model_dir: Path) -> Any:
    """The onnx.ModelProto of the encoder whose weights and config.json are in model_dir."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    config = _bert_config(model_dir)
    weights = load_file(str(model_dir / "model.safetensors"))
    weights = {name.removeprefix("bert."): value for name, value in weights.items()}
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    head_size, eps = hidden // heads, float(config["layer_norm_eps"])
    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=f"{name}_{op}", **attributes))
        return name

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.astype(np.float32))
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, w], f"{out}_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale = const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=eps)

    # Embeddings: word + token type 0 + position, then LayerNorm.
    words = node("Gather", [const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"],
                 "words")
    typed = node("Add", [words, const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])],
                 "typed")
    length = node("Shape", ["input_ids"], "length", start=1, end=2)
    positions = node("Slice", [const("position_embeddings", weights["embeddings.position_embeddings.weight"]),
                               const("zero", np.array([0], dtype=np.int64)), length], "positions")
    h = layer_norm(node("Add", [typed, positions], "embedded"), "embeddings.LayerNorm", "h0")

    # Attention mask as an additive bias [batch, 1, 1, tokens]: 0 where attended, the float32 minimum elsewhere.
    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one", np.array(1.0, dtype=np.float32)), mask], "mask_inv")
    bias = node("Mul", [inverted, const("min", np.array(np.finfo(np.float32).min, dtype=np.float32))], "mask_bias")
    bias = node("Unsqueeze", [bias, const("axes_1_2", np.array([1, 2], dtype=np.int64))], "attention_bias")
    split_heads = const("split_heads", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_size), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    one = "one"

    for i in range(int(config["num_hidden_layers"])):
        p, a = f"encoder.layer.{i}", f"l{i}"
        q = node("Reshape", [linear(h, f"{p}.attention.self.query", f"{a}_q"), split_heads], f"{a}_q4")
        k = node("Reshape", [linear(h, f"{p}.attention.self.key", f"{a}_k"), split_heads], f"{a}_k4")
        v = node("Reshape", [linear(h, f"{p}.attention.self.value", f"{a}_v"), split_heads], f"{a}_v4")
        q = node("Transpose", [q], f"{a}_qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{a}_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{a}_vt", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{a}_qk"), scale], f"{a}_scaled")
        probs = node("Softmax", [node("Add", [scores, bias], f"{a}_masked")], f"{a}_probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], f"{a}_ctx")], f"{a}_ctxt", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], f"{a}_ctx3")
        attended = linear(context, f"{p}.attention.output.dense", f"{a}_att")
        h = layer_norm(node("Add", [attended, h], f"{a}_res1"), f"{p}.attention.output.LayerNorm", f"{a}_h1")
        up = linear(h, f"{p}.intermediate.dense", f"{a}_up")
        erf = node("Erf", [node("Div", [up, sqrt2], f"{a}_up_s")], f"{a}_erf")
        gelu = node("Mul", [node("Mul", [up, half], f"{a}_up_h"), node("Add", [erf, one], f"{a}_erf1")],
                    f"{a}_gelu")
        down = linear(gelu, f"{p}.output.dense", f"{a}_down")
        h = layer_norm(node("Add", [down, h], f"{a}_res2"), f"{p}.output.LayerNorm", f"{a}_h2")
    nodes.append(helper.make_node("Identity", [h], ["token_embeddings"], name="output"))

    dims = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes, "all_minilm_l6_v2_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT, [*dims, hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="citebot", producer_version=str(EXPORT_VERSION))
    model.ir_version = 8  # onnxruntime reads IR 8 at opset 17 on every version we support
    onnx.checker.check_model(model)
    return model


def export(model_dir: Path, folder: Path, *, int8: bool = False) -> None:
    """Write the encoder into folder as MODEL_FILE (the graph) and DATA_FILE (the weights, which
    onnxruntime maps from disk quickly), fp32 or with int8 weights by dynamic quantisation."""
    import onnx

    model = build_graph(model_dir)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Weights only: the two attention products (query x key, probabilities x value) multiply activations
        # by activations and lose too much as int8; per-channel scales keep each output column's range.
        constants = {i.name for i in model.graph.initializer}
        activations = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.input[1] not in constants]
        fp32, quantised = folder / "fp32.tmp.onnx", folder / "int8.tmp.onnx"
        onnx.save_model(model, str(fp32))
        quantize_dynamic(str(fp32), str(quantised), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=activations)
        model = onnx.load_model(str(quantised))
        fp32.unlink()
        quantised.unlink()
    onnx.save_model(model, str(folder / MODEL_FILE), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=DATA_FILE, size_threshold=1024)
