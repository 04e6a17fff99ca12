"""Input domains behind one interface (:class:`~sciml.domains.base.Domain`), registered by name.

>>> from sciml.domains import get_domain
>>> get_domain("molecules").key("OCC")
'CCO'

Adding a domain means adding a subpackage here that registers a ``Domain`` subclass
with ``@DOMAINS.register()`` and importing it below.
"""

from __future__ import annotations

from sciml.domains.base import DEFAULT_DOMAIN, DOMAINS, Domain, FeaturizeResult, get_domain
from sciml.domains.molecules import MoleculeDomain

__all__ = ["DEFAULT_DOMAIN", "DOMAINS", "Domain", "FeaturizeResult", "MoleculeDomain", "get_domain"]
