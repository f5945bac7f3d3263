#!/usr/bin/env python3
"""Loopback emulator of a Weights & Biases server, for tests.

Standard library only.  Emulates the subset of the W&B backend described in
the wandb/wandb sources named in docs/vendor-sources.md: GraphQL at POST /graphql (HTTP Basic api:KEY)
for reading projects, runs, history, events, files and artifacts and for the
UpsertBucket / CreateRunFiles mutations and the artifact write protocol
(CreateArtifact, CreateArtifactManifest, CreateArtifactFiles, CommitArtifact);
the file_stream endpoint; presigned storage PUT/GET; plus a control API under /__emu for seeding, dumping, fault,
rate-limit and latency injection.  See tests/emulators/README.md.

Start:  python3 -u wandb_emu.py [--api-key K] [--username U] [--latency-ms M]
                                [--rate-limit N [--rate-window S]] ...
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""

import argparse
import json

import emuhttp
import hostile
from wandb_common import DEFAULT_API_KEY  # noqa: F401 (also the self-test's key)
from wandb_handler import Handler
from wandb_history import GenHistory, gen_value  # noqa: F401 (used by the self-test)
from wandb_seed import seed
from wandb_store import Emulator


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=DEFAULT_API_KEY,
                    help="the accepted key (HTTP Basic password; default %s)" % DEFAULT_API_KEY)
    ap.add_argument("--username", default="emu-user", help="viewer username and entity")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--rate-limit", type=int, default=0,
                    help="GraphQL requests allowed per --rate-window (0 = unlimited)")
    ap.add_argument("--rate-window", type=float, default=1.0, help="seconds (default 1)")
    ap.add_argument("--sampling", choices=("random", "even"), default="random")
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
