/* The built-in adapter table. Vendors not (yet) built in are still listed,
 * with no open(), so that xport can say "adapter 'mlflow' is not built in"
 * instead of "unknown adapter" (curl keeps disabled schemes the same way). */
#include <stddef.h>

#include "xport/sys/adapter.h"

extern const struct xp_adapter_type xp_local_adapter;
extern const struct xp_adapter_type xp_archive_adapter;
extern const struct xp_adapter_type xp_wandb_offline_adapter;
extern const struct xp_adapter_type xp_wandb_adapter;

#define NOT_BUILT(var, nm, text)                                              \
    static const struct xp_adapter_type var = {                               \
        .abi = XP_ADAPTER_ABI, .name = nm, .summary = text " (not built in)"}

extern const struct xp_adapter_type xp_mldash_adapter, xp_mldash_local_adapter;
extern const struct xp_adapter_type xp_comet_adapter, xp_cometx_adapter,
    xp_comet_offline_adapter;
extern const struct xp_adapter_type xp_neptune_adapter;
extern const struct xp_adapter_type xp_neptune_offline_adapter;
extern const struct xp_adapter_type xp_neptune_backup_adapter;
extern const struct xp_adapter_type xp_neptune_export_adapter;
extern const struct xp_adapter_type xp_neptune_scale_adapter;
extern const struct xp_adapter_type xp_s3_adapter;
NOT_BUILT(mlflow_type, "mlflow", "MLflow tracking servers");

const struct xp_adapter_type *const xp_builtin_adapters[] = {
    &xp_local_adapter,
    &xp_archive_adapter,
    &xp_mldash_adapter,
    &xp_mldash_local_adapter,
    &xp_wandb_adapter,
    &xp_wandb_offline_adapter,
    &xp_comet_adapter,
    &xp_cometx_adapter,
    &xp_comet_offline_adapter,
    &xp_neptune_adapter,
    &xp_neptune_offline_adapter,
    &xp_neptune_backup_adapter,
    &xp_neptune_export_adapter,
    &xp_neptune_scale_adapter,
    &xp_s3_adapter,
    &mlflow_type,
    NULL,
};
