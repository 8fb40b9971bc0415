"""Write `webapp.folded`, the bundled example profile (deterministic: run it again, get the same bytes).

    python tui/examples/make_example.py [OUT]

A CPU profile of a small Python web service, as folded stacks in sample order, in three
phases: start-up (imports, config), a loop of requests, and shutdown. The hot path is known:

    main › server.serve_forever › server.handle_request › app.dispatch › views.search
         › search.rank_results › search.score › text.tokenize

`views.search` holds more than half of all samples; `text.tokenize` is the hottest function by self.
Kernel frames carry FlameGraph's `_[k]` suffix; `json.dumps` and `db.query` are reached from
several views, so Sandwich has callers to show.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

SEED = 20240611
Stack = tuple[str, ...]

SERVE: Stack = ("main", "server.serve_forever")
REQUEST: Stack = (*SERVE, "server.handle_request")
DISPATCH: Stack = (*REQUEST, "app.dispatch")

READ_SOCKET: Stack = (*REQUEST, "socket.recv_into", "sock_recvmsg_[k]", "tcp_recvmsg_[k]", "copy_user_generic_[k]")
WRITE_SOCKET: Stack = (*REQUEST, "server.send_response", "socket.sendall", "tcp_sendmsg_[k]",
                       "tcp_write_xmit_[k]", "ip_queue_xmit_[k]")
PARSE: Stack = (*REQUEST, "http.parse_request", "http.parse_headers")
ROUTE: Stack = (*DISPATCH, "router.match", "re.Pattern.match")
IDLE: Stack = (*SERVE, "selectors.select", "do_epoll_wait_[k]", "schedule_[k]")


def db_query(caller: Stack, table: str) -> list[tuple[Stack, int]]:
    q = (*caller, "db.query")
    return [
        ((*q, "db.build_sql", f"sql.compile_{table}"), 1),
        ((*q, "db.cursor.execute", "sqlite3.execute"), 3),
        ((*q, "db.cursor.execute", "sqlite3.execute", "pread64_[k]", "ext4_file_read_iter_[k]"), 1),
        ((*q, "db.cursor.fetchall", "db.row_factory"), 2),
    ]


def json_dumps(caller: Stack) -> list[tuple[Stack, int]]:
    j = (*caller, "json.dumps", "json.encoder.iterencode")
    return [((j), 1), ((*j, "json.encoder.encode_str"), 2), ((*j, "json.encoder.floatstr"), 1)]


def view_search(rng: random.Random) -> list[tuple[Stack, int]]:
    v = (*DISPATCH, "views.search")
    rank = (*v, "search.rank_results")
    score = (*rank, "search.score")
    samples = [((*v, "search.parse_query", "text.tokenize"), 1)]
    samples += db_query(v, "documents")
    for _ in range(rng.randint(3, 5)):
        samples += [
            ((*score, "text.tokenize"), rng.randint(4, 7)),
            ((*score, "text.tokenize", "str.lower"), rng.randint(1, 3)),
            ((*score, "text.tokenize", "re.Pattern.findall"), rng.randint(2, 4)),
            ((*score, "search.bm25", "math.log"), rng.randint(1, 3)),
            ((*score, "search.bm25"), rng.randint(1, 2)),
        ]
    samples += [((*rank, "sorted", "search.rank_key"), 2), ((*rank, "sorted"), 1)]
    samples += json_dumps(v)
    return samples


def view_item(rng: random.Random) -> list[tuple[Stack, int]]:
    v = (*DISPATCH, "views.item")
    return [*db_query(v, "items"), ((*v, "models.Item.from_row"), rng.randint(1, 2)), *json_dumps(v)]


def view_report(rng: random.Random) -> list[tuple[Stack, int]]:
    v = (*DISPATCH, "views.report")
    t = (*v, "template.render")
    samples = db_query(v, "orders") + db_query(v, "customers")
    samples += [((*v, "report.aggregate", "statistics.mean"), rng.randint(2, 4)),
                ((*v, "report.aggregate", "decimal.Decimal.__add__"), rng.randint(2, 3))]
    samples += [((*t, "template.render_block", "html.escape"), rng.randint(2, 4)),
                ((*t, "template.render_block"), 1),
                ((*t, "template.render_block", "template.render_block", "html.escape"), 2)]
    return samples


def view_login(rng: random.Random) -> list[tuple[Stack, int]]:
    v = (*DISPATCH, "views.login")
    return [*db_query(v, "users"),
            ((*v, "auth.check_password", "hashlib.pbkdf2_hmac", "_sha256_block_data_order"), rng.randint(6, 9)),
            ((*v, "auth.new_session", "secrets.token_hex", "getrandom_[k]"), 1)]


View = Callable[[random.Random], list[tuple[Stack, int]]]
VIEWS: tuple[View, ...] = (view_search, view_item, view_report, view_login)
VIEW_ODDS = (10, 6, 3, 2)


def startup() -> list[tuple[Stack, int]]:
    b = ("main", "app.bootstrap")
    imp = (*b, "importlib._find_and_load", "importlib._load_unlocked", "importlib.exec_module")
    return [
        ((*imp, "importlib.get_code", "marshal.loads"), 6),
        ((*imp, "importlib.get_code", "io.open_code", "do_sys_openat2_[k]"), 2),
        ((*imp, "sqlite3.__init__"), 2),
        ((*b, "config.load", "yaml.safe_load", "yaml.scanner.scan_plain"), 7),
        ((*b, "config.load", "yaml.safe_load", "yaml.constructor.construct_mapping"), 3),
        ((*b, "db.connect", "sqlite3.connect", "openat_[k]"), 2),
        ((*b, "router.compile_routes", "re.compile", "sre_compile.compile"), 4),
        ((*b, "search.load_index", "pickle.load"), 9),
    ]


def shutdown() -> list[tuple[Stack, int]]:
    s = ("main", "app.shutdown")
    return [((*s, "db.close", "sqlite3.Connection.close", "fsync_[k]"), 3), ((*s, "gc.collect"), 5)]


def generate(requests: int = 20, seed: int = SEED) -> list[tuple[Stack, int]]:
    rng = random.Random(seed)
    samples = startup()
    for _ in range(requests):
        samples.append((IDLE, rng.randint(2, 12)))
        samples += [(READ_SOCKET, 1), (PARSE, 1), (ROUTE, 1)]
        samples += rng.choices(VIEWS, VIEW_ODDS)[0](rng)
        samples.append((WRITE_SOCKET, rng.randint(1, 2)))
    samples += shutdown()
    return samples


def folded(samples: list[tuple[Stack, int]]) -> str:
    return "".join(f"{';'.join(stack)} {count}\n" for stack, count in samples)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("webapp.folded")
    out.write_text(folded(generate()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
