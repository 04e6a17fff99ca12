"""Self-supervised pretraining of encoders on unlabelled corpora (:mod:`.masking`, :mod:`.corpus`).

The run itself (featurizing the stream, excluding held-out molecules, resumable state, the
checkpoint) is :mod:`pipelines.pretrain`; ``sciml pretrain`` is its command line.
"""

from sciml.pretrain.corpus import Corpus, CorpusPosition, chunk_order
from sciml.pretrain.masking import MaskedGraphPretrainer

__all__ = ["Corpus", "CorpusPosition", "MaskedGraphPretrainer", "chunk_order"]
