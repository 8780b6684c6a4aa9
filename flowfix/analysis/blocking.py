"""The one table of calls that block the calling thread: functions, sync clients and their
blocking methods, file I/O. ASY001/ASY002/ASY003 look calls up in it inside a coroutine;
ASY006 (through flowfix.project's call graph) follows sync helpers down to one of them."""

from __future__ import annotations

from dataclasses import dataclass

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
HTTP_ALTERNATIVE = "`httpx.AsyncClient`"
PROCESS_ALTERNATIVE = "`asyncio.create_subprocess_exec()`"

# Sleeping: ASY001's call (ASY002 leaves it to ASY001; ASY006 follows helpers down to it).
SLEEP_FUNCTIONS: dict[str, str] = {"time.sleep": "`asyncio.sleep()`"}
# Network, child processes and module-level LLM calls: qualified name → async alternative.
BLOCKING_IO_FUNCTIONS: dict[str, str] = {
    **{f"requests.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    **{f"requests.api.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    **{f"httpx.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    "urllib.request.urlopen": HTTP_ALTERNATIVE,
    **{
        f"subprocess.{name}": PROCESS_ALTERNATIVE
        for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
    },
    "litellm.completion": "`litellm.acompletion()`",
    "litellm.embedding": "`litellm.aembedding()`",
}
# Every function above: what a sync helper may end in (ASY006).
BLOCKING_FUNCTIONS = frozenset({*SLEEP_FUNCTIONS, *BLOCKING_IO_FUNCTIONS})
# Calls whose result still reads from the network afterwards (`urlopen(url).read()`).
LAZY_RESPONSES = frozenset({"urllib.request.urlopen"})

# Method paths (after the client) of sync LLM SDK clients that wait for the model.
LLM_METHODS = frozenset(
    {
        "chat.completions.create",
        "chat.completions.parse",
        "beta.chat.completions.parse",
        "completions.create",
        "embeddings.create",
        "responses.create",
        "responses.parse",
        "responses.retrieve",
        "messages.create",
        # OpenAI's other endpoints: each call is a request too.
        *("images.generate", "images.edit", "moderations.create"),
        *("audio.transcriptions.create", "audio.translations.create", "audio.speech.create"),
        # The Assistants API (threads, messages and runs; `create_and_poll` polls until the
        # run ends).
        *("beta.assistants.create", "beta.assistants.retrieve", "beta.threads.create"),
        *("beta.threads.retrieve", "beta.threads.create_and_run"),
        *("beta.threads.messages.create", "beta.threads.messages.list"),
        *("beta.threads.runs.create", "beta.threads.runs.retrieve", "beta.threads.runs.poll"),
        *("beta.threads.runs.create_and_poll", "beta.threads.runs.submit_tool_outputs"),
    }
)
HTTP_METHODS = frozenset({*HTTP_VERBS, "send"})
# Commands of a sync Redis client: each is a network round trip.
REDIS_METHODS = frozenset(
    {
        *("get", "set", "setex", "getdel", "mget", "mset", "delete", "exists", "expire", "ttl"),
        *("incr", "decr", "keys", "scan", "publish", "hget", "hset", "hgetall", "hdel"),
        *("lpush", "rpush", "lpop", "rpop", "lrange", "ltrim", "llen", "sadd", "srem"),
        *("smembers", "zadd", "zrange", "zrem", "json"),
    }
)
REDIS_ALTERNATIVE = "`redis.asyncio.Redis`"
# Google Gen AI's sync client: the model calls under `client.models` (the async twins are
# under `client.aio.models`).
GENAI_METHODS = frozenset(
    {
        "models.generate_content",
        "models.generate_content_stream",
        "models.embed_content",
        "models.count_tokens",
        "models.generate_images",
    }
)
# Qdrant's sync client: every call is a request to the server.
QDRANT_METHODS = frozenset(
    {
        *("query_points", "query_batch_points", "query_points_groups", "search", "search_batch"),
        *("recommend", "retrieve", "scroll", "count", "upsert", "upload_points", "delete"),
        *("set_payload", "get_collection", "get_collections", "collection_exists"),
        *("create_collection", "recreate_collection", "create_payload_index"),
    }
)
QDRANT_ALTERNATIVE = "`qdrant_client.AsyncQdrantClient`"


@dataclass(frozen=True)
class SyncClient:
    """A sync client class: the method paths that block, the async client to use, and what
    the client talks to, as messages name it."""

    methods: frozenset[str]
    alternative: str
    kind: str = "HTTP"
    # Methods that run a query built from the client (`session.query(User).filter(...).all()`).
    query_runs: frozenset[str] = frozenset()

    @property
    def is_llm(self) -> bool:
        """An OpenAI-style SDK, whose blocking paths may sit under a prefix
        (`client.beta.chat.completions.create`)."""
        return self.methods is LLM_METHODS


def _llm(alternative: str) -> SyncClient:
    return SyncClient(LLM_METHODS, alternative, "LLM SDK")


def _redis() -> SyncClient:
    return SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE, "Redis")


# Sync SQLAlchemy (SQLModel re-exports its `Session` and `create_engine`): each statement,
# load, flush and commit waits for a database round trip on the calling thread. `add`,
# `delete` and `query(...)` only record work; the methods below send it.
SESSION_METHODS = frozenset(
    {
        *("execute", "scalars", "scalar", "commit", "rollback", "flush", "refresh"),
        *("get", "get_one", "merge", "exec"),  # `exec`: SQLModel's
    }
)
CONNECTION_METHODS = frozenset(
    {"execute", "exec_driver_sql", "scalars", "scalar", "commit", "rollback"}
)
ENGINE_METHODS = frozenset({"connect", "begin", "raw_connection"})
# What runs a `session.query(...)` chain: its SELECT, or a bulk UPDATE / DELETE.
QUERY_RUNS = frozenset(
    {"all", "first", "one", "one_or_none", "scalar", "count", "get", "update", "delete"}
)
DATABASE_KIND = "SQLAlchemy"


def _sqlalchemy(methods: frozenset[str], alternative: str) -> SyncClient:
    runs = QUERY_RUNS if methods is SESSION_METHODS else frozenset()
    return SyncClient(methods, f"`{alternative}` (`sqlalchemy.ext.asyncio`)", DATABASE_KIND, runs)


SQLALCHEMY_CLIENTS: dict[str, SyncClient] = {
    **{
        name: _sqlalchemy(SESSION_METHODS, "AsyncSession")
        for name in (
            *("sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session"),
            *("sqlmodel.orm.session.Session", "sqlalchemy.orm.scoped_session"),
            "sqlalchemy.orm.scoping.scoped_session",
        )
    },
    **{
        name: _sqlalchemy(CONNECTION_METHODS, "AsyncConnection")
        for name in (
            *("sqlalchemy.Connection", "sqlalchemy.engine.Connection"),
            "sqlalchemy.engine.base.Connection",
        )
    },
    **{
        name: _sqlalchemy(ENGINE_METHODS, "AsyncEngine")
        for name in (
            *("sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine"),
            *("sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"),
            "sqlmodel.create_engine",
        )
    },
}
# Factories of sync sessions: calling what they return opens one (`SessionLocal()`).
SESSION_FACTORIES = frozenset(
    {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"}
)
# Methods of a sync engine that return a sync connection, and of a session factory that
# return a session.
ENGINE_CONNECTIONS = frozenset({"connect", "begin"})
FACTORY_SESSIONS = frozenset({"begin"})
SESSION_CLASS = "sqlalchemy.orm.Session"
SESSION_CLASSES = frozenset(
    name for name, client in SQLALCHEMY_CLIENTS.items() if client.methods is SESSION_METHODS
)
CONNECTION_CLASS = "sqlalchemy.engine.Connection"
ENGINE_CLASSES = frozenset(
    name for name, client in SQLALCHEMY_CLIENTS.items() if client.methods is ENGINE_METHODS
)

SYNC_CLIENTS: dict[str, SyncClient] = {
    "openai.OpenAI": _llm("`openai.AsyncOpenAI`"),
    "openai.Client": _llm("`openai.AsyncOpenAI`"),
    "openai.AzureOpenAI": _llm("`openai.AsyncAzureOpenAI`"),
    "anthropic.Anthropic": _llm("`anthropic.AsyncAnthropic`"),
    "anthropic.Client": _llm("`anthropic.AsyncAnthropic`"),
    "google.genai.Client": SyncClient(GENAI_METHODS, "`client.aio.models`", "LLM SDK"),
    "requests.Session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.sessions.Session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "httpx.Client": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "redis.Redis": _redis(),
    "redis.StrictRedis": _redis(),
    "redis.client.Redis": _redis(),
    "redis.from_url": _redis(),
    "redis.Redis.from_url": _redis(),
    "qdrant_client.QdrantClient": SyncClient(QDRANT_METHODS, QDRANT_ALTERNATIVE, "Qdrant"),
    "qdrant_client.qdrant_client.QdrantClient": SyncClient(
        QDRANT_METHODS, QDRANT_ALTERNATIVE, "Qdrant"
    ),
    **SQLALCHEMY_CLIENTS,
}
SYNC_CLIENT_NAMES = frozenset(SYNC_CLIENTS)
CLIENT_METHODS = frozenset().union(*(client.methods for client in SYNC_CLIENTS.values()))
QUERY_METHODS = frozenset().union(*(client.query_runs for client in SYNC_CLIENTS.values()))
MAX_METHOD_DEPTH = max(path.count(".") + 1 for path in CLIENT_METHODS)
# The last word of every blocking client method: a cheap test before any client is looked up.
CLIENT_METHOD_ENDS = frozenset(method.rpartition(".")[2] for method in CLIENT_METHODS)

# File I/O (ASY003): `open()` and the single-call reads and writes of `pathlib.Path`.
OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
PATH_FACTORIES = PATH_CLASSES | frozenset({"pathlib.Path.home", "pathlib.Path.cwd"})
# Methods of a path that return a path.
PATH_METHODS = frozenset(
    {"with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute", "expanduser"}
)
PATH_IO = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
