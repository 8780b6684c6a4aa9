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
        "messages.create",
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


@dataclass(frozen=True)
class SyncClient:
    """A sync client class: the method paths that block, and the async client to use."""

    methods: frozenset[str]
    alternative: str

    @property
    def is_llm(self) -> bool:
        return self.methods is LLM_METHODS

    @property
    def kind(self) -> str:
        """What the client talks to, as messages name it."""
        return "LLM SDK" if self.is_llm else "Redis" if self.methods is REDIS_METHODS else "HTTP"


SYNC_CLIENTS: dict[str, SyncClient] = {
    "openai.OpenAI": SyncClient(LLM_METHODS, "`openai.AsyncOpenAI`"),
    "openai.Client": SyncClient(LLM_METHODS, "`openai.AsyncOpenAI`"),
    "openai.AzureOpenAI": SyncClient(LLM_METHODS, "`openai.AsyncAzureOpenAI`"),
    "anthropic.Anthropic": SyncClient(LLM_METHODS, "`anthropic.AsyncAnthropic`"),
    "anthropic.Client": SyncClient(LLM_METHODS, "`anthropic.AsyncAnthropic`"),
    "requests.Session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.sessions.Session": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "httpx.Client": SyncClient(HTTP_METHODS, HTTP_ALTERNATIVE),
    "redis.Redis": SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE),
    "redis.StrictRedis": SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE),
    "redis.client.Redis": SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE),
    "redis.from_url": SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE),
    "redis.Redis.from_url": SyncClient(REDIS_METHODS, REDIS_ALTERNATIVE),
}
SYNC_CLIENT_NAMES = frozenset(SYNC_CLIENTS)
CLIENT_METHODS = LLM_METHODS | HTTP_METHODS | REDIS_METHODS
MAX_METHOD_DEPTH = max(path.count(".") + 1 for path in CLIENT_METHODS)
# Top-level packages of everything above (ASY002's text trigger).
BLOCKING_MODULES = (
    *("requests", "httpx", "urllib", "subprocess", "openai", "anthropic", "litellm", "redis"),
)

# File I/O (ASY003): `open()` and the single-call reads and writes of `pathlib.Path`.
OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
PATH_FACTORIES = PATH_CLASSES | frozenset({"pathlib.Path.home", "pathlib.Path.cwd"})
# Methods of a path that return a path.
PATH_METHODS = frozenset(
    {"with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute", "expanduser"}
)
PATH_IO = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
