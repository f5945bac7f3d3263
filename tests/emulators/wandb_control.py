"""The W&B emulator's control API under /__emu: reset, seed, dump, faults, stats, config."""

import emucontrol
from wandb_common import HTTPErr, bad
from wandb_seed import dump, seed


# --------------------------------------------------------------------------
# Control API
# --------------------------------------------------------------------------

CFG_KEYS = {"latency_ms": float, "rate_limit": int, "rate_window_s": float,
            "filestream_rate_limit": int, "max_body_bytes": int,
            "history_default_samples": int, "events_default_samples": int,
            "sampled_history_cap": int, "history_samples_max": int,
            "sampling": str, "record_bodies": bool, "upload_headers": list,
            "require_content_md5": bool, "stopped": bool,
            "strict_fields": bool, "log_lines_legacy": bool,
            "log_page_max": int, "log_legacy_page": int}
FAULT_KEYS = ("path", "method", "query", "operation", "status", "body", "count", "skip",
              "delay_ms", "drop_after_bytes", "reset", "headers", "retry_after",
              "corrupt")


def _check_cfg(k, v):
    if k == "sampling" and v not in ("random", "even"):
        raise bad("sampling must be random or even")


def _stats_extra(emu):
    return {"byOperation": emu.by_op, "rateLimited": emu.rate_limited}


def control(emu, method, path, q, body):
    res = emucontrol.common(emu, method, path, q, body, seed=seed, dump=dump,
                            fault_keys=FAULT_KEYS, cfg_keys=CFG_KEYS, bad=bad,
                            check_cfg=_check_cfg, documents=True,
                            stats_extra=_stats_extra)
    if res is not None:
        return res
    raise HTTPErr(404, "unknown control endpoint %s %s" % (method, path))
