"""Pretraining of encoders: self-supervised on unlabelled corpora (:mod:`.masking`, :mod:`.corpus`) and
supervised multitask on the labels of meta-train tasks (:mod:`.multitask`).

The runs themselves (featurizing, excluding held-out molecules, resumable state, the checkpoint) are
:mod:`pipelines.pretrain` (``sciml pretrain`` is its command line) and :mod:`pipelines.pretrain_multitask`.
"""

from sciml.pretrain.corpus import Corpus, CorpusPosition, chunk_order
from sciml.pretrain.masking import MaskedGraphPretrainer
from sciml.pretrain.multitask import MultitaskPretrainer, label_matrix

__all__ = ["Corpus", "CorpusPosition", "MaskedGraphPretrainer", "MultitaskPretrainer", "chunk_order", "label_matrix"]
