"""Hypothesis' example databases of a campaign: one per round (RoundDatabase), and the shared one that
drivers of the same implementation reuse across campaigns (RNNCONF_SHARED_DB)."""
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, MultiplexedDatabase


SHARED_DB_ENV = "RNNCONF_SHARED_DB"


class SharedDatabaseError(Exception):
    """RNNCONF_SHARED_DB names a database that cannot be set up: one line for the user."""
def shared_database(spec, implementation):
    """The example database RNNCONF_SHARED_DB names, shared between machines, or None where unset:

    github:OWNER/REPO[/ARTIFACT]  the artifact a CI workflow uploads (Hypothesis's
                                  GitHubArtifactDatabase, default artifact hypothesis-example-db),
                                  read-only: downloaded on first use, GITHUB_TOKEN for private repos
    redis://HOST:PORT[/DB]        a Redis server (hypothesis.extra.redis, needs the `redis` package),
                                  read and written; keys are per implementation, so a failure of one
                                  implementation that passes on another is not deleted by that one

    Nothing is fetched here: both connect on first use."""
    if not spec:
        return None
    from hypothesis.database import GitHubArtifactDatabase, ReadOnlyDatabase
    scheme, _, rest = spec.partition(":")
    if scheme == "github":
        parts = rest.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise SharedDatabaseError(f"{SHARED_DB_ENV}={spec}: expected github:OWNER/REPO[/ARTIFACT]")
        return ReadOnlyDatabase(GitHubArtifactDatabase(parts[0], parts[1], *parts[2:]))
    if scheme in ("redis", "rediss"):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise SharedDatabaseError(f"{SHARED_DB_ENV}={spec}: the `redis` package is not installed "
                                      "(pip install redis)") from None
        try:
            client = redis.Redis.from_url(spec)
        except ValueError as e:
            raise SharedDatabaseError(f"{SHARED_DB_ENV}={spec}: {e}") from None
        return RedisExampleDatabase(client, key_prefix=f"rnnconf:{implementation}:".encode())
    raise SharedDatabaseError(f"{SHARED_DB_ENV}={spec}: unknown database; expected github:OWNER/REPO or "
                              "redis://HOST:PORT")


class RoundDatabase(ExampleDatabase):
    """The campaign's example database (DirectoryBasedExampleDatabase in DIR/hypothesis/<driver>),
    remembering what the current round saved so that `forget_round()` can take it back; with a
    `shared` database (shared_database), read from both and written to both (a read-only one
    ignores writes), so a failure found elsewhere is replayed first here.

    Hypothesis trusts an exact failing replay from the database as already shrunk. So only a
    round whose shrink completed may leave its examples there; a round that stopped mid-shrink
    (budget, or merged into a known discrepancy) must not leave a half-shrunk case to be replayed
    as a finished one, here or on another machine."""

    def __init__(self, path, shared=None):
        super().__init__()
        self.local = DirectoryBasedExampleDatabase(path)
        self.inner = self.local if shared is None else MultiplexedDatabase(self.local, shared)
        self.saved = []

    def save(self, key, value):
        self.saved.append((key, value))
        self.inner.save(key, value)

    def fetch(self, key):
        return self.inner.fetch(key)

    def delete(self, key, value):
        self.inner.delete(key, value)

    def move(self, src, dest, value):
        self.saved.append((dest, value))
        self.inner.move(src, dest, value)

    def start_round(self):
        self.saved = []

    def forget_round(self):
        for key, value in self.saved:
            self.inner.delete(key, value)
        self.saved = []
