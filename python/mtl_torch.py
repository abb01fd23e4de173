"""A trained mtl-train model as a ``torch.nn.Module``.

Rebuilds the shared-encoder multi-task model (embedding → (Bi)LSTM → one head per task) from a
model folder written by ``mtl-train export`` (or a checkpoint folder ``runs/NAME/checkpoint-STEP``:
its optimizer tensors are ignored) and loads its weights. Needs only ``torch`` and ``safetensors``.

Usage::

    import mtl_torch
    model = mtl_torch.load("model/")              # from mtl-train export (or a checkpoint folder)
    ids, lengths = model.batch([["great", "phone", ",", "fast"], ["这", "家", "酒店", "很", "糟糕"]])
    print(model.decode(ids, lengths))             # {"sentiment": ["pos", "neg"], "topic": ["phone", "hotel"]}

``model(ids, lengths)`` gives the raw scores per task: ``[B, C]`` for classification and multilabel
heads, ``[B, T, C]`` for tagging and spans heads (per-token scores; for a CRF head the emissions,
before decoding; positions ``t >= lengths[b]`` hold 0). They equal what ``mtl-train predict --logits``
writes for the same token ids to 1e-4 (``python/check_interop.py`` checks it).

Tokens: the model was trained on the tokens of its text pipeline (``model.pipeline``: an ICU
normalizer and tokenizer, ``nfkc_cf`` + ``words`` by default), which this module does not run.
Pass token ids, or normalized token strings to ``encode``/``batch``; ``mtl-prep tokenize
--normalize N --tokenizer T`` with the model's pipeline prints them, space-separated, one text a line.
Unknown tokens map to the vocabulary's unknown id, as in ``mtl-train predict``.

Layout (README, "safetensors naming"): LSTM gates are ordered i, f, g, o as in ``torch.nn.LSTM``, and
the single bias ``encoder.lstm.l{k}.fwd.bias`` is loaded as ``bias_ih_l{k}`` with ``bias_hh_l{k}`` zero,
so the encoder here is a plain ``nn.LSTM`` over packed sequences. Texts without tokens skip the
encoder and pool to the zero vector (sequence-level heads then predict from their biases).
Dropout layers sit where mtl-train has them (embeddings, between LSTM layers, encoder outputs,
inside the heads) at the trained rate; ``load`` returns the model in ``eval()`` mode, where they do
nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["load", "MTLModel", "CRF", "allowed_transitions", "state_dict_from_safetensors"]


# ---------------------------------------------------------------------------------------------
# Tag constraints (the same rules as Sources/Training/MultiTaskModel.swift and Sources/NN/CRF.swift)


def _split_tag(tag: str):
    """("B", "PER") for "B-PER"; (None, tag) for tags without a B/I/E/S prefix."""
    if len(tag) >= 2 and tag[0] in "BIES" and tag[1] == "-":
        return tag[0], tag[2:]
    return None, tag


def allowed_transitions(tags: Sequence[str], scheme: Optional[str]):
    """Allowed transitions ``[K][K]`` (from × to) and allowed first tags ``[K]``.

    BIO (and tag sets without a scheme): ``I-X`` only after ``B-X`` or ``I-X``, never first.
    BIOES: after ``B-X``/``I-X`` only ``I-X``/``E-X``; ``I-X``/``E-X`` only after ``B-X``/``I-X``;
    a sequence starts with ``O``, ``B-`` or ``S-``. No constraint on the last tag.
    """
    k = len(tags)
    parts = [_split_tag(t) for t in tags]
    trans = [[True] * k for _ in range(k)]
    start = [True] * k
    if scheme == "BIOES":
        for j in range(k):
            pj, tj = parts[j]
            continues = pj in ("I", "E")
            if continues:
                start[j] = False
            for i in range(k):
                pi, ti = parts[i]
                if pi in ("B", "I"):
                    trans[i][j] = continues and ti == tj
                elif continues:
                    trans[i][j] = False
    else:
        for j in range(k):
            pj, tj = parts[j]
            if pj != "I":
                continue
            start[j] = False
            for i in range(k):
                pi, ti = parts[i]
                trans[i][j] = pi in ("B", "I") and ti == tj
    return trans, start


# ---------------------------------------------------------------------------------------------
# Layers


class CRF(nn.Module):
    """Linear-chain CRF: score(y) = start[y0] + Σ E[t, y_t] + Σ T[y_{t-1}, y_t] + end[y_{L-1}].

    ``transitions`` is ``[K, K]`` (row = from, column = to). Forbidden transitions and first tags
    (buffers ``allowed_transitions``, ``allowed_start``) score -inf.
    """

    def __init__(self, tags: Sequence[str], scheme: Optional[str]):
        super().__init__()
        k = len(tags)
        self.transitions = nn.Parameter(torch.zeros(k, k))
        self.start = nn.Parameter(torch.zeros(k))
        self.end = nn.Parameter(torch.zeros(k))
        trans, start = allowed_transitions(tags, scheme)
        self.register_buffer("allowed_transitions", torch.tensor(trans, dtype=torch.bool), persistent=False)
        self.register_buffer("allowed_start", torch.tensor(start, dtype=torch.bool), persistent=False)

    def _masked(self):
        ninf = torch.tensor(float("-inf"), dtype=self.transitions.dtype, device=self.transitions.device)
        return (torch.where(self.allowed_transitions, self.transitions, ninf),
                torch.where(self.allowed_start, self.start, ninf))

    def log_partition(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """log Z per sequence ``[B]`` (forward algorithm; sequences of length 0 give 0)."""
        trans, start = self._masked()
        b, t_max, _ = emissions.shape
        if t_max == 0:
            return emissions.new_zeros(b)
        alpha = start + emissions[:, 0]
        for t in range(1, t_max):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            alpha = torch.where((t < lengths).unsqueeze(1), nxt, alpha)
        z = torch.logsumexp(alpha + self.end, dim=1)
        return torch.where(lengths > 0, z, torch.zeros_like(z))

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Score of the tag paths ``tags [B, T]`` per sequence ``[B]``."""
        trans, start = self._masked()
        b, t_max, _ = emissions.shape
        if t_max == 0:
            return emissions.new_zeros(b)
        mask = torch.arange(t_max, device=emissions.device).unsqueeze(0) < lengths.unsqueeze(1)
        y = tags.clamp(min=0).masked_fill(~mask, 0)
        e = emissions.gather(2, y.unsqueeze(2)).squeeze(2).masked_fill(~mask, 0).sum(1)
        tr = trans[y[:, :-1], y[:, 1:]].masked_fill(~mask[:, 1:], 0).sum(1)
        last = y.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        s = start[y[:, 0]] + e + tr + self.end[last]
        return torch.where(lengths > 0, s, torch.zeros_like(s))

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sequence ``[B]`` (mtl-train's loss is its mean over labelled sequences)."""
        return self.log_partition(emissions, lengths) - self.score(emissions, tags, lengths)

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, lengths: torch.Tensor) -> List[List[int]]:
        """The best allowed tag path of every sequence (ties go to the lowest tag id, as in mtl-train)."""
        trans, start = self._masked()
        b, t_max, _ = emissions.shape
        if t_max == 0:
            return [[] for _ in range(b)]
        lengths = lengths.to(emissions.device)
        delta = start + emissions[:, 0]
        back = []
        for t in range(1, t_max):
            s = delta.unsqueeze(2) + trans.unsqueeze(0)          # [B, from, to]
            arg = s.argmax(dim=1)                                 # first maximum
            best = s.gather(1, arg.unsqueeze(1)).squeeze(1)
            nxt = best + emissions[:, t]
            delta = torch.where((t < lengths).unsqueeze(1), nxt, delta)
            back.append(arg)
        last = (delta + self.end).argmax(dim=1)
        back_rows = [h.tolist() for h in back]
        last = last.tolist()
        paths = []
        for i, n in enumerate(lengths.tolist()):
            if n <= 0:
                paths.append([])
                continue
            path = [last[i]]
            for t in range(n - 1, 0, -1):
                path.append(back_rows[t - 1][i][path[-1]])
            path.reverse()
            paths.append(path)
        return paths


class Head(nn.Module):
    """One task's dense stack: Linear → ReLU → Dropout → … → Linear (``dense.{j}``), and a CRF for crf heads."""

    def __init__(self, spec: dict, input_size: int, hidden: int, dropout: float):
        super().__init__()
        self.name = spec["name"]
        self.kind = spec["kind"]
        self.head = spec["head"]
        self.labels = list(spec["labels"])
        self.tag_scheme = spec.get("tagScheme")
        sizes = [input_size, hidden, len(self.labels)] if hidden > 0 else [input_size, len(self.labels)]
        self.dense = nn.ModuleList(nn.Linear(sizes[j], sizes[j + 1]) for j in range(len(sizes) - 1))
        self.dropout = nn.Dropout(dropout)
        self.crf = CRF(self.labels, self.tag_scheme) if self.head == "crf" else None

    @property
    def token_level(self) -> bool:
        return self.kind in ("tagging", "spans")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for j, layer in enumerate(self.dense):
            x = layer(x)
            if j < len(self.dense) - 1:
                x = self.dropout(torch.relu(x))
        return x


class MTLModel(nn.Module):
    """The mtl-train model. Build it with ``load(folder)``.

    Attributes: ``config`` (config.json's ``model`` object), ``tasks`` (task names in head order),
    ``labels`` (task → label or tag names, ids are positions), ``vocab`` (token strings in id
    order), ``pad_id``, ``unknown_id``, ``pipeline`` (the normalizer and tokenizer the tokens come from).
    """

    def __init__(self, config: dict, text: Optional[dict] = None):
        super().__init__()
        m = config.get("model", config)
        self.config = m
        v, e, h = m["vocabularySize"], m["embeddingSize"], m["hiddenSize"]
        self.bidirectional = bool(m.get("bidirectional", True))
        self.layers = int(m.get("layers", 1))
        self.pooling = m.get("pooling", "last")
        self.hidden_size = h
        self.encoded_size = h * (2 if self.bidirectional else 1)
        rate = float(m.get("dropout", 0))
        pad = int(m.get("padID", 0))
        self.pad_id = pad
        self.embedding = nn.Embedding(v, e, padding_idx=pad if 0 <= pad < v else None)
        self.embedding_dropout = nn.Dropout(rate)
        self.encoder = nn.LSTM(e, h, num_layers=self.layers, bidirectional=self.bidirectional,
                               batch_first=True, dropout=rate if self.layers > 1 else 0.0)
        self.encoder_dropout = nn.Dropout(rate)
        if self.pooling == "attention":
            self.attention = nn.Linear(self.encoded_size, int(m.get("attentionSize", 64)))
            self.attention_context = nn.Parameter(torch.zeros(int(m.get("attentionSize", 64))))
        elif self.pooling not in ("last", "mean", "max"):
            raise ValueError(f"unknown pooling {self.pooling!r}")
        self.heads = nn.ModuleList(Head(t, self.encoded_size, int(m.get("headHidden", 32)), rate) for t in m["tasks"])
        self.tasks = [t["name"] for t in m["tasks"]]
        self.labels: Dict[str, List[str]] = {t["name"]: list(t["labels"]) for t in m["tasks"]}
        text = text or {}
        self.vocab: List[str] = list(text.get("tokens", []))
        self.unknown_id = int(text.get("unknownID", 1))
        self.pipeline = text.get("pipeline")
        self.token_to_id: Dict[str, int] = {}
        for i, tok in enumerate(self.vocab):
            self.token_to_id.setdefault(tok, i)

    # -- tokens -----------------------------------------------------------------------------

    def encode(self, tokens: Sequence[str]) -> List[int]:
        """Ids of normalized token strings (the vocabulary's unknown id for tokens it lacks)."""
        return [self.token_to_id.get(t, self.unknown_id) for t in tokens]

    def batch(self, texts: Sequence[Sequence], device=None):
        """``(token_ids [B, T], lengths [B])`` from lists of tokens (strings) or of ids, padded with the pad id."""
        rows = [list(t) if all(isinstance(x, int) for x in t) else self.encode(t) for t in texts]
        t_max = max((len(r) for r in rows), default=0)
        ids = torch.full((len(rows), t_max), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            if r:
                ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
        if device is not None:
            ids, lengths = ids.to(device), lengths.to(device)
        return ids, lengths

    # -- forward ----------------------------------------------------------------------------

    def encode_states(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encoder states ``[B, T, D]`` (forward direction first); zero at padding and for empty texts."""
        b, t_max = token_ids.shape
        lengths = lengths.to(token_ids.device)
        states = torch.zeros(b, t_max, self.encoded_size, dtype=self.embedding.weight.dtype, device=token_ids.device)
        rows = (lengths > 0).nonzero().squeeze(1)
        if rows.numel() == 0:
            return states
        lens = lengths[rows]
        ids = token_ids[rows]
        mask = torch.arange(t_max, device=ids.device).unsqueeze(0) < lens.unsqueeze(1)
        ids = torch.where(mask, ids, torch.full_like(ids, max(self.pad_id, 0)))
        x = self.embedding_dropout(self.embedding(ids))
        packed = pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t_max)
        return states.index_copy(0, rows, self.encoder_dropout(out))

    def pool(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One vector per text ``[B, D]``; the zero vector for texts without tokens."""
        b, t_max, d = states.shape
        lengths = lengths.to(states.device)
        nonempty = lengths > 0
        if t_max == 0:
            return states.new_zeros(b, d)
        mask = torch.arange(t_max, device=states.device).unsqueeze(0) < lengths.unsqueeze(1)
        # Empty texts pool over their (zero) row so that nothing divides by zero or softmaxes -inf.
        mask = mask | (~nonempty).unsqueeze(1) & (torch.arange(t_max, device=states.device) == 0).unsqueeze(0)
        if self.pooling == "last":
            idx = (lengths - 1).clamp(min=0)
            last = states[torch.arange(b, device=states.device), idx]
            if self.bidirectional:
                h = self.hidden_size
                pooled = torch.cat([last[:, :h], states[:, 0, h:]], dim=1)
            else:
                pooled = last
        elif self.pooling == "mean":
            pooled = (states * mask.unsqueeze(2)).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(states.dtype)
        elif self.pooling == "max":
            pooled = states.masked_fill(~mask.unsqueeze(2), float("-inf")).max(dim=1).values
        else:
            u = torch.tanh(self.attention(states))
            scores = (u * self.attention_context).sum(2).masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=1)
            pooled = (weights.unsqueeze(2) * states).sum(1)
        return pooled * nonempty.unsqueeze(1).to(pooled.dtype)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw scores per task: ``[B, C]`` (classification, multilabel) or ``[B, T, C]`` (tagging, spans)."""
        states = self.encode_states(token_ids, lengths)
        b, t_max, _ = states.shape
        pooled = self.pool(states, lengths) if any(not hd.token_level for hd in self.heads) else None
        mask = (torch.arange(t_max, device=states.device).unsqueeze(0) < lengths.to(states.device).unsqueeze(1))
        out = {}
        for hd in self.heads:
            if hd.token_level:
                out[hd.name] = hd(states) * mask.unsqueeze(2).to(states.dtype)
            else:
                out[hd.name] = hd(pooled)
        return out

    # -- predictions ------------------------------------------------------------------------

    @torch.no_grad()
    def decode(self, token_ids: Optional[torch.Tensor] = None, lengths: Optional[torch.Tensor] = None,
               logits: Optional[Dict[str, torch.Tensor]] = None, threshold: float = 0.5) -> Dict[str, list]:
        """Predictions per task, one entry per text, as ``mtl-train predict`` makes them.

        Classification: the argmax label. Multilabel: the labels with sigmoid > ``threshold``, most
        probable first. Tagging and spans: one tag per token, by per-token argmax, or by Viterbi
        under the tag scheme's constraints for CRF heads. ``logits`` (the output of ``forward``, or
        scores from elsewhere) skips the forward pass; ``lengths`` is needed for token-level tasks.
        """
        if logits is None:
            logits = self.forward(token_ids, lengths)
        result: Dict[str, list] = {}
        for hd in self.heads:
            if hd.name not in logits:
                continue
            z = logits[hd.name]
            if hd.kind == "classification":
                result[hd.name] = [hd.labels[i] for i in z.argmax(dim=1).tolist()]
            elif hd.kind == "multilabel":
                p = torch.sigmoid(z.double())
                rows = []
                for r in p.tolist():
                    chosen = sorted((j for j, s in enumerate(r) if s > threshold), key=lambda j: -r[j])
                    rows.append([hd.labels[j] for j in chosen])
                result[hd.name] = rows
            else:
                lens = lengths.to(z.device)
                if hd.crf is not None:
                    paths = hd.crf.viterbi(z, lens)
                else:
                    best = z.argmax(dim=2).tolist() if z.shape[1] > 0 else [[] for _ in range(z.shape[0])]
                    paths = [row[:n] for row, n in zip(best, lens.tolist())]
                result[hd.name] = [[hd.labels[k] for k in p] for p in paths]
        return result


# ---------------------------------------------------------------------------------------------
# Loading


def state_dict_from_safetensors(tensors: Dict[str, torch.Tensor], model: MTLModel) -> Dict[str, torch.Tensor]:
    """Maps mtl-train's parameter names (README, "safetensors naming") to ``model``'s state dict.

    ``optimizer.*`` (checkpoints) and ``task_weighting.*`` (training only) are skipped; any other
    unknown name is an error, as is a missing one.
    """
    index = {name: i for i, name in enumerate(model.tasks)}
    sd: Dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        if name.startswith("optimizer.") or name.startswith("task_weighting."):
            continue
        parts = name.split(".")
        if name == "embedding.weight":
            sd["embedding.weight"] = t
        elif name.startswith("encoder.lstm.l") and len(parts) == 5:
            layer, direction, kind = parts[2][1:], parts[3], parts[4]
            suffix = f"_l{layer}" + ("_reverse" if direction == "bwd" else "")
            if direction not in ("fwd", "bwd") or kind not in ("weight_ih", "weight_hh", "bias"):
                raise ValueError(f"unexpected tensor {name!r}")
            if kind == "bias":
                sd["encoder.bias_ih" + suffix] = t
                sd["encoder.bias_hh" + suffix] = torch.zeros_like(t)
            else:
                sd[f"encoder.{kind}{suffix}"] = t
        elif name in ("pooling.attention.weight", "pooling.attention.bias"):
            sd["attention." + parts[2]] = t
        elif name == "pooling.attention.context":
            sd["attention_context"] = t
        elif name.startswith("heads."):
            # heads.{task}.dense{j}.weight / heads.{task}.crf.transitions; task names may hold dots.
            rest, leaf = name[len("heads."):].rsplit(".", 1)
            task, layer = rest.rsplit(".", 1)
            if task not in index:
                raise ValueError(f"tensor {name!r}: the configuration has no task {task!r}")
            if layer.startswith("dense") and layer[5:].isdigit():
                sd[f"heads.{index[task]}.dense.{int(layer[5:])}.{leaf}"] = t
            elif layer == "crf":
                sd[f"heads.{index[task]}.crf.{leaf}"] = t
            else:
                raise ValueError(f"unexpected tensor {name!r}")
        else:
            raise ValueError(f"unexpected tensor {name!r}")
    return sd


def _verify_manifest(folder: str) -> None:
    path = os.path.join(folder, "MANIFEST.json")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        files = json.load(f).get("files", {})
    for name, entry in files.items():
        p = os.path.join(folder, name)
        if not os.path.exists(p):
            raise ValueError(f"{folder}: {name} is listed in MANIFEST.json but missing")
        if os.path.getsize(p) != entry["bytes"]:
            raise ValueError(f"{folder}: {name} has {os.path.getsize(p)} bytes, MANIFEST.json says {entry['bytes']}")
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != entry["sha256"]:
            raise ValueError(f"{folder}: {name} does not match its SHA-256 in MANIFEST.json")


def load(folder: str, device="cpu", verify: bool = True) -> MTLModel:
    """The model of an ``mtl-train export`` folder or a checkpoint folder, weights loaded, in eval mode."""
    from safetensors.torch import load_file

    if verify:
        _verify_manifest(folder)
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    text = None
    text_path = os.path.join(folder, "text.json")
    if os.path.exists(text_path):
        with open(text_path, encoding="utf-8") as f:
            text = json.load(f)
    model = MTLModel(config, text)
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    sd = state_dict_from_safetensors(tensors, model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(sd))
    if missing:
        raise ValueError(f"{folder}: model.safetensors lacks {', '.join(missing)}")
    for k, t in sd.items():
        if tuple(t.shape) != tuple(expected[k].shape):
            raise ValueError(f"{folder}: {k} has shape {list(t.shape)}, the configuration needs {list(expected[k].shape)}")
    model.load_state_dict(sd, strict=True)
    if text is not None and len(model.vocab) != model.embedding.num_embeddings:
        raise ValueError(f"{folder}: text.json holds {len(model.vocab)} tokens, the model {model.embedding.num_embeddings}")
    return model.to(device).eval()
