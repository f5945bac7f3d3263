#!/usr/bin/env python3
"""Loopback emulator of the ml-dash (fortyfive-labs) tracking server, for tests.

Standard library only.  Emulates both protocol generations described in
the public ml-dash sources named in docs/vendor-sources.md (v0.5.x routes without prefix, v0.6.x routes
under /api including the unified node API, GraphQL at /graphql for both),
plus a control API under /__emu for seeding, dumping, fault and latency
injection.  See tests/emulators/README.md.

Start:  python3 -u mldash_emu.py [--chunk-size N] [--latency-ms M]
                                 [--ids-as-numbers] [--api-key K] ...
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""

import argparse
import json

import emuhttp
import hostile
# The route modules fill mldash_rest.ROUTES when imported, in this order.
import mldash_routes_exp  # noqa: F401
import mldash_routes_files  # noqa: F401
import mldash_routes_tracks  # noqa: F401
from mldash_auth import jwt_encode, jwt_verify  # noqa: F401 (used by the self-test)
from mldash_handler import Handler
from mldash_schema import PUBLIC_SCHEMA, SCHEMAS  # noqa: F401 (PUBLIC_SCHEMA: self-test)
from mldash_seed import gen_value, seed  # noqa: F401 (gen_value: self-test, client check)
from mldash_store import Emulator


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=100000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--ids-as-numbers", action="store_true",
                    help="emit 19-digit ids as bare JSON numbers")
    ap.add_argument("--bigint-numbers", action="store_true",
                    help="emit BigInt counters (index, bufferedDataPoints, ...) as "
                         "numbers instead of strings")
    ap.add_argument("--api-key", default=None, help="also accept this static bearer token")
    ap.add_argument("--api-key-user", default="tom",
                    help="namespace/user of the --api-key token (default tom)")
    ap.add_argument("--strict-claims", action="store_true",
                    help="v0.5 routes accept only userName tokens, /api only username")
    ap.add_argument("--generation", choices=("both", "v05", "v06"), default="both")
    ap.add_argument("--schema", choices=SCHEMAS, default="public",
                    help="GraphQL fields answered: those the public client of the "
                         "generation asks for (public; both generations' with "
                         "--generation both), one generation's, or all the emulator has")
    ap.add_argument("--no-introspection", action="store_true",
                    help="refuse __type/__schema as Apollo Server does in production")
    ap.add_argument("--seed", default=None, help="JSON file to load with /__emu/seed")
    ap.add_argument("--verbose", action="store_true")
    emuhttp.add_args(ap)
    opts = ap.parse_args(argv)

    emu = Emulator(opts)
    if opts.seed:
        with open(opts.seed) as f:
            seed(emu, json.load(f))
    emuhttp.serve(emu, hostile.install(Handler), opts.port)


if __name__ == "__main__":
    main()
