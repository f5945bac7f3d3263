#include "xport/sys/adapter.h"
const struct xp_adapter_type xp_local_adapter = {.abi = XP_ADAPTER_ABI, .name = "local"};
