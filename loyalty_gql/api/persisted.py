"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ (what Apollo Client's PersistedQueryLink speaks): a request names its document by
``extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}``. Without ``query``
it is looked up; a miss answers ``PERSISTED_QUERY_NOT_FOUND`` (HTTP 200, as Apollo
Server answers, with either media type: the link retries with the text). With ``query``
the hash must be the text's sha256; the text is registered once it parsed and validated
(within the token and document limits), so a hash never stores text that could not run.
Registered texts live in a bounded in-process LRU, in front of Redis (one store for every
worker and host) when ``LOYALTY_REDIS_URL`` is set. ``LOYALTY_PERSISTED_QUERIES=false``
answers ``PERSISTED_QUERY_NOT_SUPPORTED``, and the link falls back to plain requests.

Trusted documents (``LOYALTY_TRUSTED_DOCUMENTS``, a manifest as Apollo's
generate-persisted-query-manifest or Relay's compiler writes it): only the manifest's
documents run, named by APQ hash, by ``documentId`` (GraphQL-over-HTTP persisted
documents; ``id`` and ``doc_id`` as Relay's examples send it) or sent as text whose
sha256 is a registered document's. Everything else is ``PERSISTED_QUERY_NOT_ALLOWED``;
APQ registration is off. A malformed manifest stops the service at start-up.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coredis
import orjson
from graphql import GraphQLError, parse
from prometheus_client import Counter

from loyalty_gql.config import Settings

log = logging.getLogger(__name__)
PERSISTED = Counter(
    "loyalty_persisted_queries_total", "Persisted-query lookups by outcome.", ["outcome"]
)
STORE_ERRORS = Counter("loyalty_persisted_query_store_errors_total", "Redis APQ store failures.")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
DOCUMENT_ID_FIELDS = ("documentId", "id", "doc_id")
MAX_DOCUMENT_ID = 256
MAX_TOTAL_BYTES = 32 * 1024 * 1024
APOLLO_FORMAT = "apollo-persisted-query-manifest"
NO_STORE = "private, no-cache, must-revalidate"


def sha256_hex(text: str) -> str:
    """The lower-case hex sha256 of a document's UTF-8 text (what clients hash)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A persisted-query request that is not run: its error, and its HTTP status for plain
    application/json and for application/graphql-response+json clients. ``negotiation``
    marks APQ's own answers, on which the client retries (sending the text, or plain
    requests from then on): no failure, and not to be cached by a CDN in front of GET."""

    message: str
    code: str
    status: int
    strict_status: int
    negotiation: bool = False


NOT_FOUND = Refusal(
    "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200, 200, negotiation=True
)
NOT_SUPPORTED = Refusal(
    "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200, 200, negotiation=True
)
NOT_ALLOWED = Refusal(
    "Only the trusted documents of this service's manifest run here; register this "
    "operation in the manifest (LOYALTY_TRUSTED_DOCUMENTS).",
    "PERSISTED_QUERY_NOT_ALLOWED",
    200,
    400,
)
HASH_MISMATCH = Refusal(
    "extensions.persistedQuery.sha256Hash is not the sha256 of `query`.",
    "PERSISTED_QUERY_HASH_MISMATCH",
    400,
    400,
)
VERSION_NOT_SUPPORTED = Refusal(
    "Unsupported persisted query version; only version 1 (sha256) is supported.",
    "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
    400,
    400,
)


def _bad_request(message: str) -> Refusal:
    return Refusal(message, "BAD_REQUEST", 400, 400)


@dataclass(frozen=True, slots=True)
class DocumentRequest:
    """The document a request asks for: its text, its APQ hash, its persisted document id."""

    query: str | None
    sha256: str | None = None
    document_id: str | None = None


def document_request(params: dict[str, Any]) -> DocumentRequest | Refusal:  # noqa: PLR0911
    """What the request's parameters name, checked (its types were checked before)."""
    query: str | None = params.get("query") or None
    extensions = params.get("extensions") or {}
    persisted = extensions.get("persistedQuery")
    named = [params[name] for name in DOCUMENT_ID_FIELDS if params.get(name) is not None]
    if len(named) > 1:
        return _bad_request("Send one of `documentId`, `id` or `doc_id`.")
    if named:
        document_id = named[0]
        if not isinstance(document_id, str) or not 0 < len(document_id) <= MAX_DOCUMENT_ID:
            return _bad_request(f"`documentId` must be a string of 1 to {MAX_DOCUMENT_ID} chars.")
        if query is not None or persisted is not None:
            return _bad_request("Send either `documentId` or `query` (with its hash), not both.")
        return DocumentRequest(None, document_id=document_id)
    if persisted is None:
        if query is None:
            return _bad_request("The `query` parameter is missing")
        return DocumentRequest(query)
    if not isinstance(persisted, dict):
        return _bad_request("`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != 1:
        return VERSION_NOT_SUPPORTED
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not SHA256.fullmatch(sha):
        return _bad_request("`extensions.persistedQuery.sha256Hash` must be 64 hex digits.")
    sha = sha.lower()
    if query is not None and sha256_hex(query) != sha:
        return HASH_MISMATCH
    return DocumentRequest(query, sha256=sha)


def _hash_of_id(document_id: str) -> str | None:
    """The sha256 a document id spells (``sha256:<hex>`` as the GraphQL-over-HTTP
    persisted documents proposal writes it, or bare hex), if it is one."""
    _, _, hex_digits = document_id.rpartition("sha256:")
    return hex_digits.lower() if SHA256.fullmatch(hex_digits) else None


class ManifestError(ValueError):
    """The trusted documents manifest cannot be used."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"LOYALTY_TRUSTED_DOCUMENTS={path}: {problem}")


class TrustedDocuments:
    """The allow-list: the manifest's documents by id and by the sha256 of their text."""

    def __init__(self, by_id: dict[str, str]) -> None:
        self.by_id = by_id
        self.by_hash = {sha256_hex(body): body for body in by_id.values()}

    @classmethod
    def load(cls, path: Path) -> TrustedDocuments:
        """Read an Apollo (``apollo-persisted-query-manifest``) or Relay (``{id: text}``)
        manifest; every document must parse. Raises ManifestError, saying what is wrong."""
        try:
            content = orjson.loads(path.read_bytes())
        except OSError as error:
            raise ManifestError(path, f"cannot be read ({error.strerror})") from error
        except orjson.JSONDecodeError as error:
            raise ManifestError(path, f"is not JSON ({error})") from error
        if not isinstance(content, dict):
            raise ManifestError(path, "must be a JSON object")
        if "format" in content or "operations" in content:
            by_id = _apollo_operations(path, content)
        else:
            by_id = _relay_documents(path, content)
        if not by_id:
            raise ManifestError(path, "holds no documents")
        for document_id, body in by_id.items():
            try:
                parse(body)
            except GraphQLError as error:
                raise ManifestError(
                    path, f"document {document_id!r} does not parse: {error.message}"
                ) from error
        return cls(by_id)

    def find(self, request: DocumentRequest) -> str | None:
        """The registered text the request names (or sends), if any."""
        if request.document_id is not None:
            found = self.by_id.get(request.document_id)
            sha = _hash_of_id(request.document_id)
            if found is None and sha is not None:
                found = self.by_hash.get(sha)
            return found
        if request.sha256 is not None:
            # Apollo's persisted-documents client sends the manifest's id as the hash
            return self.by_hash.get(request.sha256) or self.by_id.get(request.sha256)
        assert request.query is not None  # noqa: S101 - document_request sees to it
        return self.by_hash.get(sha256_hex(request.query))


def _apollo_operations(path: Path, content: dict[str, Any]) -> dict[str, str]:
    if content.get("format") != APOLLO_FORMAT or content.get("version") != 1:
        raise ManifestError(path, f'needs "format": "{APOLLO_FORMAT}" and "version": 1')
    operations = content.get("operations")
    if not isinstance(operations, list):
        raise ManifestError(path, '"operations" must be a list')
    by_id: dict[str, str] = {}
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ManifestError(path, f"operations[{index}] must be an object")
        document_id, body = operation.get("id"), operation.get("body")
        if not isinstance(document_id, str) or not document_id or not isinstance(body, str):
            raise ManifestError(path, f'operations[{index}] needs a string "id" and "body"')
        _add(path, by_id, document_id, body)
    return by_id


def _relay_documents(path: Path, content: dict[str, Any]) -> dict[str, str]:
    by_id: dict[str, str] = {}
    for document_id, body in content.items():
        if not document_id or not isinstance(body, str):
            raise ManifestError(path, f"document {document_id!r} must be a non-empty id: text")
        _add(path, by_id, document_id, body)
    return by_id


def _add(path: Path, by_id: dict[str, str], document_id: str, body: str) -> None:
    if by_id.get(document_id, body) != body:
        raise ManifestError(path, f"id {document_id!r} names two different documents")
    by_id[document_id] = body


class QueryStore:
    """Registered APQ texts by sha256: an LRU in this process (at most ``size`` texts and
    MAX_TOTAL_BYTES), in front of Redis when configured. Redis failures are misses (the
    client sends the text again), logged once a minute: nothing here is the only copy."""

    def __init__(self, settings: Settings, *, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.size = settings.persisted_queries_size
        self.max_entry = settings.max_body_bytes
        self.max_bytes = max_bytes
        self.ttl = settings.persisted_queries_ttl
        self._bytes = 0
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._prefix = f"{settings.redis_prefix}:apq:"
        self._pool: coredis.ConnectionPool | None = None
        self._redis: coredis.Redis[bytes] | None = None
        if settings.redis_url:
            self._pool = coredis.ConnectionPool.from_url(
                settings.redis_url, connect_timeout=1.0, stream_timeout=1.0
            )
            self._redis = coredis.Redis(connection_pool=self._pool)
        self._last_logged = 0.0

    def __len__(self) -> int:
        return len(self._texts)

    async def get(self, sha: str) -> str | None:
        """The text registered under ``sha``, from this process or from Redis."""
        text = self._texts.get(sha)
        if text is not None:
            self._texts.move_to_end(sha)
            return text
        if self._redis is None:
            return None
        try:
            stored = await self._redis.get(self._prefix + sha)
        except Exception:
            self._failed()
            return None
        text = stored.decode(errors="replace") if stored is not None else None
        if text is None or sha256_hex(text) != sha:  # a miss, or not ours (damage)
            return None
        self._remember(sha, text)
        return text

    async def put(self, sha: str, text: str) -> bool:
        """Register a text that parsed and validated (never one beyond the body limit);
        whether it was new to this process."""
        if sha in self._texts or len(text.encode()) > self.max_entry:
            return False
        self._remember(sha, text)
        if self._redis is not None:
            try:
                await self._redis.set(self._prefix + sha, text, ex=self.ttl)
            except Exception:
                self._failed()
        return True

    def _remember(self, sha: str, text: str) -> None:
        self._texts[sha] = text
        self._bytes += len(text)
        while len(self._texts) > self.size or self._bytes > self.max_bytes:
            _, dropped = self._texts.popitem(last=False)
            self._bytes -= len(dropped)

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self._pool is not None:
            self._pool.disconnect()

    def _failed(self) -> None:
        STORE_ERRORS.inc()
        now = time.monotonic()
        if now - self._last_logged >= 60:  # once a minute
            self._last_logged = now
            log.warning(
                "the Redis APQ store failed; answering PersistedQueryNotFound (logged once a "
                "minute, counted in loyalty_persisted_query_store_errors_total)",
                exc_info=True,  # noqa: LOG014
            )


class PersistedQueries:
    """Resolves a request's document: APQ from the store, or the trusted documents only."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.persisted_queries
        self.trusted: TrustedDocuments | None = None
        if settings.trusted_documents is not None:
            self.trusted = TrustedDocuments.load(settings.trusted_documents)
        self.store = QueryStore(settings)

    async def resolve(self, request: DocumentRequest) -> str | Refusal:
        """The text to run, or why none runs."""
        if self.trusted is not None:
            text = self.trusted.find(request)
            PERSISTED.labels("trusted" if text is not None else "not_allowed").inc()
            return text if text is not None else NOT_ALLOWED
        if request.query is not None and request.sha256 is None:
            return request.query
        if not self.enabled:
            return NOT_SUPPORTED
        if request.query is not None:
            return request.query
        sha = request.sha256
        if sha is None and request.document_id is not None:
            sha = _hash_of_id(request.document_id)
        text = await self.store.get(sha) if sha is not None else None
        PERSISTED.labels("hit" if text is not None else "miss").inc()
        return text if text is not None else NOT_FOUND

    async def register(self, request: DocumentRequest, valid: bool) -> None:
        """Keep an APQ text once it proved valid (not in trusted-documents mode)."""
        query, sha = request.query, request.sha256
        if not valid or query is None or sha is None or self.trusted is not None:
            return
        if self.enabled and await self.store.put(sha, query):
            PERSISTED.labels("registered").inc()

    async def close(self) -> None:
        """Close the store's Redis connections."""
        await self.store.close()
