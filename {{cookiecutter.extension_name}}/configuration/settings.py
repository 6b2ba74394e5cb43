"""What `make run` serves and how. Every setting can be overridden with the environment variable Q2EXT_<NAME>.

For example `Q2EXT_PORT=8000 make run`, or Q2EXT_DEBUG=0 with Q2EXT_KEYRING in production. The names and their
defaults are those of q2ext/settings.py (Settings); a name missing here keeps its default.
"""

# DEBUG: the loopback bus (push() POSTs straight to this server) and a development key ring made on first run;
# the server restarts itself when code or this file changes, lists its extensions at http://localhost:1980/
# and serves /metrics on PORT. Out of DEBUG: the Kafka bus, no restarts, no index page, /metrics only on
# METRICS_PORT; with a Message Bus extension installed the server refuses to start without a real key ring
# (`make keys`). A project with no Message Bus extension needs keys only for push() (loaded on first use).
DEBUG = True

# Where the server listens (Q2EXT_HOST, Q2EXT_PORT; `make run PORT=8000` for one run).
HOST = "localhost"
PORT = 1980

# Out of DEBUG, /metrics (Prometheus text) is served only here, never on PORT: 127.0.0.1 keeps it on this
# machine (a scraper elsewhere: bind a private address and firewall it). 0 turns it off. Several handler
# processes on one host need one port each (Q2EXT_METRICS_PORT); a taken port only disables /metrics.
METRICS_HOST = "127.0.0.1"
METRICS_PORT = 1982

# DEBUG, INFO, WARNING or ERROR (`make run LOG=DEBUG` shows what the bus sends and receives, as the seed does).
LOG_LEVEL = "INFO"

# Sent with every message as q2msg-envstack: which environment produced it.
ENV_STACK = "LOCAL-DEV"

# "auto" = loopback in DEBUG, Kafka otherwise; or force "loopback" / "kafka".
BUS = "auto"

# The Kafka cluster (Q2EXT_KAFKA_BOOTSTRAP_SERVERS) and extra client options, e.g. TLS and SASL
# (Q2EXT_KAFKA_CLIENT_OPTIONS='{"security_protocol": "SSL"}').
KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
KAFKA_CLIENT_OPTIONS = {}

# Key files, all under .q2ext/ (ignored by git). In production load keys from a secret store instead:
# Q2EXT_KEYRING (the ring as JSON) and Q2EXT_DELIVERY_KEY (the relay's delivery key).
KEYRING_FILE = ".q2ext/keyring.json"
DEV_KEYRING_FILE = ".q2ext/keyring.dev.json"
DELIVERY_KEY_FILE = ".q2ext/delivery-key.json"

# Limits: one message's text, one request body, how old a message may be (it may wait in Kafka), how far in
# the future its clock may be, and how fresh a delivery signature must be (seconds).
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_MESSAGE_AGE_SECONDS = 7 * 24 * 3600
MAX_FUTURE_SKEW_SECONDS = 300
DELIVERY_TOLERANCE_SECONDS = 300

# The HTTP edges (SECURITY.md, "Limits at the HTTP edges"): a request's headers must arrive within the idle
# timeout (also the keep-alive idle time), its body within the body timeout; at most MAX_CONNECTIONS open
# connections (fewer if `ulimit -n` is lower); Adapter and Caliper JSON bodies at most MAX_JSON_BODY_BYTES.
HTTP_IDLE_TIMEOUT_SECONDS = 60
HTTP_BODY_TIMEOUT_SECONDS = 60
MAX_CONNECTIONS = 10_000
MAX_JSON_BODY_BYTES = 1024 * 1024

# Message ids already handled (a redelivery is acknowledged without calling handle() again).
SEEN_IDS_FILE = ".q2ext/seen-ids.sqlite3"
SEEN_IDS_MAX = 1_000_000
# A handler that crashed mid-handle() blocks those ids this long (its claims are leases it renews while alive).
SEEN_IDS_LEASE_SECONDS = 10
# Several handler hosts: one PostgreSQL store for all of them instead of a SQLite file each, e.g.
# "postgresql://q2ext@db-host:5432/q2ext" (or Q2EXT_SEEN_IDS_URL; its table is made on first use: docs/deploy.md).
SEEN_IDS_URL = ""

# During a key rotation: how long after start (or the last reload of the ring file) a key id this handler does
# not know is answered 503 (the relay retries) before it is refused for good with 401 (SECURITY.md).
UNKNOWN_KEY_GRACE_SECONDS = 600

# How long push() waits for the bus (seconds).
PUSH_TIMEOUT_SECONDS = 10.0

# The DEBUG bus console (http://localhost:1980/_q2ext/console/): how many recent events it keeps in memory
# (0 turns it off), and where it reads the relay's /metrics when the bus is Kafka.
CONSOLE_EVENTS = 1000
CONSOLE_RELAY_URL = "http://127.0.0.1:1981"

# The extensions `make run` serves, one per line; `make extension NAME=... KIND=...` adds to this list.
INSTALLED_EXTENSIONS = [
]
